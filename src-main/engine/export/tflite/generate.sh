#!/usr/bin/env bash
# Regenerates generated/ from schema.fbs with Debian's flatc (package flatbuffers-compiler, 2.0.8,
# whose TypeScript output goes with the npm runtime flatbuffers 2.0.x this project pins).
# flatc's output imports names it never uses, which this project's `noUnusedLocals` rejects: each
# file gets `// @ts-nocheck` (its types still reach the code that imports it).
set -euo pipefail
cd "$(dirname "$0")"
flatc --version | grep -q '^flatc version 2\.0\.' || { echo "need flatc 2.0.x (apt-get install flatbuffers-compiler)" >&2; exit 1; }
rm -rf generated
flatc --ts -o generated schema.fbs
find generated -name '*.ts' -print0 | while IFS= read -r -d '' file; do
  printf '// @ts-nocheck\n%s\n' "$(cat "$file")" > "$file"
done

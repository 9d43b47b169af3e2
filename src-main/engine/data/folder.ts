/**
 * An image folder: one sub-folder per class (sorted by name, as torchvision's ImageFolder does),
 * PNG and JPEG files inside (sorted by name). Images are decoded when a batch asks for them
 * (PNG with pngjs, JPEG with jpeg-js, both pure JavaScript), converted to the dataset's channel
 * count and, when their size differs from the dataset's, resized (Pillow bilinear).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DistilleryError } from '../errors.ts';
import { convertChannels, resizeImage } from './preprocess.ts';
import type { ImageSource, Shape3 } from './types.ts';

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel. */
  rgba: Uint8Array;
  /** Whether the file itself is grayscale (PNG colour type 0/4; JPEG with R = G = B everywhere). */
  gray: boolean;
}

export function decodeImage(file: string): DecodedImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new DistilleryError('NOT_FOUND', `cannot read ${file}: ${(error as Error).message}`, undefined, { cause: error });
  }
  const isPng = bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      const colorType = (png as unknown as { colorType?: number }).colorType;
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), gray: colorType === 0 || colorType === 4 };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
      let gray = true;
      for (let i = 0; i < img.data.length && gray; i += 4) gray = img.data[i] === img.data[i + 1] && img.data[i] === img.data[i + 2];
      return { width: img.width, height: img.height, rgba: img.data, gray };
    }
  } catch (error) {
    throw new DistilleryError('BAD_DATA', `${file} could not be decoded: ${(error as Error).message}`, undefined, { cause: error });
  }
  throw new DistilleryError('BAD_DATA', `${file} is neither a PNG nor a JPEG image`);
}

export interface FolderOptions {
  /** Size of the samples [height, width]; default: the first image's. */
  size?: [number, number];
  /** 1 or 3; default: 1 if the first image is grayscale, else 3. */
  channels?: 1 | 3;
}

export function listImageFolder(dir: string): { classNames: string[]; files: string[]; labels: number[] } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DistilleryError('NOT_FOUND', `${dir} is not a folder`);
  const classNames = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classNames.length < 2) {
    throw new DistilleryError('BAD_DATA', `${dir} has ${classNames.length} class sub-folder(s)`, 'an image folder needs one sub-folder per class (at least two), each holding that class\'s PNG/JPEG images');
  }
  const files: string[] = [];
  const labels: number[] = [];
  classNames.forEach((name, label) => {
    const classDir = join(dir, name);
    const names = readdirSync(classDir, { withFileTypes: true })
      .filter((e) => e.isFile() && EXTENSIONS.has(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
    for (const n of names) {
      files.push(join(classDir, n));
      labels.push(label);
    }
  });
  if (files.length === 0) throw new DistilleryError('BAD_DATA', `${dir} holds no PNG or JPEG images in its class sub-folders`);
  return { classNames, files, labels };
}

export function openImageFolder(dir: string, options: FolderOptions = {}): ImageSource {
  const { classNames, files, labels } = listImageFolder(dir);
  let shape: Shape3;
  if (options.size && options.channels) {
    shape = [options.size[0], options.size[1], options.channels];
  } else {
    const first = decodeImage(files[0]!);
    shape = [options.size?.[0] ?? first.height, options.size?.[1] ?? first.width, options.channels ?? (first.gray ? 1 : 3)];
  }
  const [h, w, c] = shape;
  return {
    description: `image folder ${dir} (${files.length} images, ${classNames.length} classes, read as ${h}×${w}×${c})`,
    kind: 'folder',
    size: files.length,
    shape,
    labels: Int32Array.from(labels),
    numClasses: classNames.length,
    classNames,
    read(indices, out) {
      for (let i = 0; i < indices.length; i++) {
        const file = files[indices[i]!];
        if (!file) throw new DistilleryError('BAD_INPUT', `sample index ${indices[i]} out of range`);
        const img = decodeImage(file);
        let px = convertChannels(img.rgba, img.width * img.height, 4, c);
        if (img.height !== h || img.width !== w) px = resizeImage(px, [img.height, img.width, c], h, w, 'bilinear');
        out.set(px, i * h * w * c);
      }
    },
    close() {},
  };
}

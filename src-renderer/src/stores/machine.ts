import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DoctorReport } from '@common/contract.ts';
import { api, hostKind } from '@renderer/api/index.ts';

/** What the engine host reports about this machine: backend, data, desktop binary. */
export const useMachineStore = defineStore('machine', () => {
  const report = ref<DoctorReport | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      report.value = await api.invoke('doctor', {});
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    } finally {
      loading.value = false;
    }
  }

  return { report, error, loading, hostKind, refresh };
});

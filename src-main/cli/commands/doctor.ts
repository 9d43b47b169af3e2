import { doctor, ENGINE_VERSION, formatDoctorReport } from '../../engine/index.ts';
import { out, type CliCommand } from '../command.ts';

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'what this machine gives Distillery: backend, data, desktop app',
  usage: 'Usage: distillery doctor [--json]\n\nPrints the TensorFlow.js backend Distillery would use and why, the data it finds,\nand whether the Electron binary is present. --json prints the same as JSON.',
  options: { json: { type: 'boolean' } },
  async run({ values }) {
    const report = await doctor(ENGINE_VERSION);
    out.print(values.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return 0;
  },
};

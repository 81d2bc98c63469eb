// `watchpoint capacity`: the capacity model for one environment's stack settings, offline.
import { ExitCode } from '../errors.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { flagError, runtimeOf, wholeNumberFlag, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import { ASSUMPTIONS, capacityModel, type MeasuredUnitCosts } from '../capacity/model.ts';
import { buildCapacityJson, renderCapacity } from '../capacity/report.ts';
import type { TemplateSettings } from '../capacity/settings.ts';
import type { CapacityFlags } from './capacity.define.ts';

export const DEFAULT_WATCHPOINTS = 100_000;
export const DEFAULT_TRIGGER_SHARE = 0.1;
export const MAX_WATCHPOINTS = 100_000_000;
export const MAX_TILES = 1_000_000;

export interface CapacityOptions extends Runtime {
  json: boolean;
  watchpoints: number;
  triggerShare: number;
  tiles: number;
  /** Injected in tests: the template's settings and the unit costs. */
  settings: TemplateSettings | undefined;
  units: MeasuredUnitCosts | undefined;
}

/** "0.1", "10%" or "10 %" -> 0.1; anything else is exit 2 naming the flag. */
export function parseShare(raw: string): number {
  const text = raw.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  const value = percent ? Number(percent[1]) / 100 : /^\d*\.?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw flagError('--trigger-share', `"${raw}" is not a share between 0 and 1.`, 'Give a fraction or a percentage, e.g. --trigger-share 0.1 or --trigger-share 10%.');
  }
  return value;
}

/** The flag contract: flags to options, validated once (exit 2 naming the flag); no synth, no config. */
export function parseCapacityOptions(flags: CapacityFlags, context: CommandContext & Injectable & { settings?: TemplateSettings; units?: MeasuredUnitCosts }): CapacityOptions {
  return {
    ...runtimeOf(context),
    json: Boolean(flags.json),
    watchpoints: flags.watchpoints === undefined ? DEFAULT_WATCHPOINTS : wholeNumberFlag('--watchpoints', flags.watchpoints.replace(/[_,]/g, ''), 1, MAX_WATCHPOINTS),
    triggerShare: flags.triggerShare === undefined ? DEFAULT_TRIGGER_SHARE : parseShare(flags.triggerShare),
    tiles: flags.tiles === undefined ? ASSUMPTIONS.tilesPerRun : wholeNumberFlag('--tiles', flags.tiles.replace(/[_,]/g, ''), 1, MAX_TILES),
    settings: context.settings,
    units: context.units,
  };
}

export async function runCapacity(options: CapacityOptions): Promise<number> {
  const { envName, stage } = await resolveStage(options);
  const units = options.units ?? (await import('../capacity/units.ts')).loadMeasuredUnitCosts();
  let settings = options.settings;
  if (!settings) {
    options.io.notify('info', `Reading watchpoint-${envName}'s settings from its template, synthesized offline (no AWS call) ...`);
    const { readTemplateSettings } = await import('../capacity/settings.ts');
    const { cached, ...read } = await readTemplateSettings({ envName, stage, env: options.env, warn: (text) => options.io.notify('warn', text) });
    if (cached) options.io.notify('info', 'Template: nothing it is built from changed; reused from the synth cache (no synth).');
    settings = read;
  }
  const model = capacityModel(units, settings, { watchpoints: options.watchpoints, triggerShare: options.triggerShare, tiles: options.tiles });
  if (options.json) options.io.result(JSON.stringify(buildCapacityJson(model, { envName, region: stage.region }), null, 2));
  else options.io.result(renderCapacity(model, { envName, region: stage.region }, pickStyle(options.stdoutIsTty, options.env)));
  return ExitCode.ok;
}

// `watchpoint capacity`: the flag contract (exit 2 naming the flag, before any config or synth),
// the settings read from a real synthesized template, --json, and the text an operator reads.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { parseCapacityOptions, parseShare, runCapacity } from '../../src/cli/commands/capacity.ts';
import type { TemplateSettings } from '../../src/cli/capacity/settings.ts';
import { loadMeasuredUnitCosts } from '../../src/cli/capacity/units.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { SETTINGS, UNITS } from './fixtures.ts';

describe('capacity flags', () => {
  it.each([
    [['--watchpoints', 'lots'], '--watchpoints'],
    [['--watchpoints', '0'], '--watchpoints'],
    [['--watchpoints', '100000001'], '--watchpoints'],
    [['--trigger-share', '150%'], '--trigger-share'],
    [['--trigger-share', '-0.1'], '--trigger-share'],
    [['--trigger-share', 'half'], '--trigger-share'],
    [['--tiles', '1.5'], '--tiles'],
  ])('%j exits 2 naming %s, before reading any config', async (args, flag) => {
    const { code, stderr, stdout } = await runCli(['capacity', ...args], { cwd: await tempDir() });
    expect(code).toBe(2);
    expect(stderr).toContain(flag);
    expect(stderr).toMatch(/fix:/i);
    expect(stdout).toBe('');
  });

  it('takes a share as a fraction or a percentage, and counts with separators', () => {
    expect(parseShare('10%')).toBeCloseTo(0.1, 12);
    expect(parseShare('0.5 %')).toBeCloseTo(0.005, 12);
    expect(parseShare('0.01')).toBe(0.01);
    expect(parseShare('1')).toBe(1);
    const options = parseCapacityOptions({ watchpoints: '1,000,000', tiles: '2_000' }, { io: new RecordingIo(), options: {}, env: {}, cwd: '/' });
    expect(options.watchpoints).toBe(1_000_000);
    expect(options.tiles).toBe(2000);
    expect(options.triggerShare).toBe(0.1);
  });
});

describe('capacity on a synthesized template', () => {
  it('reads the settings from the template, prints the whole model as JSON, offline', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    // No AWS endpoint and no credentials: nothing here may call AWS.
    const env = { AWS_ACCESS_KEY_ID: '', AWS_EC2_METADATA_DISABLED: 'true', WATCHPOINT_SYNTH_CACHE: join(cwd, 'synth-cache') };
    const argv = ['capacity', '--env', 'dev', '--watchpoints', '1000000', '--trigger-share', '10%', '--json'];
    const { code, stdout, stderr } = await runCli(argv, { cwd, env });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('offline');
    expect(stderr).not.toContain('reused from the synth cache');
    // The second run reads the same template from the synth cache (no synth), and models the same.
    const again = await runCli(argv, { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('reused from the synth cache');
    expect(JSON.parse(again.stdout).settings).toEqual(JSON.parse(stdout).settings);
    const model = JSON.parse(stdout) as { schemaVersion: number; settings: TemplateSettings; limits: { id: string; hit: boolean; change?: string }[]; firstLimit: { id: string; hitAt: number } | null; monthly: { totalUsd: number } };
    expect(model.schemaVersion).toBe(1);
    const f = model.settings.functions;
    // The figures, as the template has them.
    expect(f.evalStandard.reservedConcurrency).toBe(50);
    expect(f.evalStandard.batchSize).toBe(10);
    expect(f.evalUrgent.batchSize).toBe(1);
    expect(f.evalUrgent.timeoutSeconds).toBe(300);
    expect(f.evalUrgent.provisionedConcurrency).toBe(5);
    expect(f.evalUrgent.queue?.visibilityTimeoutSeconds).toBe(1800);
    expect(f.email.queue?.visibilityTimeoutSeconds).toBe(180);
    expect(f.email.queue?.depthAlarm).toBe(500);
    expect(f.webhook.batchSize).toBe(10);
    expect(f.batcher.timeoutSeconds).toBe(30);
    expect(model.settings.deadLetter.retentionSeconds).toBe(14 * 86_400);
    expect(model.settings.notificationSpike).toEqual({ threshold: 1000, periodSeconds: 300 });
    expect(model.firstLimit).not.toBeNull();
    expect(model.monthly.totalUsd).toBeGreaterThan(0);
    for (const limit of model.limits.filter((l) => l.hit)) expect(limit.change, limit.id).toBeTruthy();
  }, 120_000);

  it('prints cycle time, headroom, the first limit and the change, and the monthly cost by service', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    const io = new RecordingIo([], false);
    const code = await runCapacity(parseCapacityOptions({ env: 'dev', watchpoints: '1000000', triggerShare: '10%' }, { io, options: { env: 'dev' }, env: {}, cwd, stdoutIsTty: false, settings: SETTINGS, units: UNITS }));
    expect(code).toBe(0);
    const text = io.results.join('\n');
    expect(text).toContain('Capacity of watchpoint-test (eu-west-1): 1,000,000 watchpoints, 10% triggering, 2,000 tiles per run');
    expect(text).toMatch(/nowcast\s+2,000\s+100,000\s+.+\s15m\s+-?\d/);
    for (const service of ['Lambda', 'SQS', 'S3 GETs', 'SES', 'CloudWatch Logs', 'Provisioned concurrency', 'Total']) expect(text).toContain(service);
    expect(text).toMatch(/First limit: \S+ at [\d,]+ watchpoints/);
    expect(text).toMatch(/limit\(s\) hit at 1,000,000 watchpoints/);
    expect(text).toMatch(/stack code \(src\/stack\/constructs\/\S+\); no stage option/);
    expect(text).not.toMatch(/\x1b\[/);
  });

  it('the committed unit costs are a complete measurement', () => {
    const units = loadMeasuredUnitCosts();
    expect(units.eval.bytesPerTile).toBeGreaterThan(0);
    expect(units.delivery.email.samples).toBeGreaterThan(0);
    expect(units.validation.length).toBeGreaterThan(0);
  });
});

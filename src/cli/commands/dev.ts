// `watchpoint dev`: validates its flags, starts the local platform (src/dev/platform.ts), prints
// where everything is, then either runs the scripted end-to-end check (--once) or runs until
// Ctrl-C / SIGTERM / a crash, and always stops everything it started.
import { ExitCode, userError } from '../errors.ts';
import { handleCtrlC } from '../interrupt.ts';
import type { CommandContext } from '../context.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { DevFlags } from './dev.define.ts';
import type { HotPoint } from '../../dev/forecast.ts';
import { VARIABLES } from '../../dev/forecast.ts';
import { DRILLS, type DrillName } from '../../config/drills.ts';

/** Everything `dev` runs on, validated. */
export interface DevOptions extends Runtime {
  once: boolean;
  speed: number;
  drill: DrillName | undefined;
  hotPoints: HotPoint[];
  databaseUrl: string | undefined;
  allowLoopbackWebhooks: boolean;
  json: boolean;
  watch: boolean;
  /** Tests: resolves to stop an interactive run instead of a signal. */
  stopSignal?: Promise<void>;
}

/** The flag contract: every dev flag and each combination checked once, before anything starts (exit 2 naming the flag). */
export function parseDevOptions(flags: DevFlags, context: CommandContext & Injectable): DevOptions {
  const drill = parseDrill(flags.drill);
  const once = Boolean(flags.once);
  if (drill && once) throw userError('DEV_DRILL_ONCE', '--drill and --once cannot be combined: a drill keeps the platform running for you to practise on.', 'Drop --once to run the drill, or drop --drill for the end-to-end check.');
  // A drill's alarms have periods of 5 to 30 minutes; at x180 they fire in seconds.
  const speed = parseSpeed(flags.speed ?? (drill ? '180' : '1'));
  const hotPoints = flags.hotPoint.map(parseHotPoint);
  const databaseUrl = parseDatabaseUrl(flags.databaseUrl);
  if (flags.json && !once) throw userError('DEV_JSON_NEEDS_ONCE', '--json only applies to --once.', 'Add --once, or drop --json.');
  if (flags.watch && once) throw userError('DEV_WATCH_WITH_ONCE', '--watch reloads code in a platform that keeps running; --once stops after one check.', 'Drop one of them: `watchpoint dev --watch`, or `watchpoint dev --once`.');
  return {
    ...runtimeOf(context),
    once,
    speed,
    drill,
    hotPoints,
    databaseUrl,
    allowLoopbackWebhooks: Boolean(flags.allowLoopbackWebhooks),
    json: Boolean(flags.json),
    watch: Boolean(flags.watch),
  };
}

export function parseSpeed(raw: string): number {
  const speed = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || speed < 1 || speed > 3600) {
    throw userError('DEV_SPEED_INVALID', `--speed must be a number from 1 to 3600, got "${raw.slice(0, 20)}".`, 'Pass e.g. --speed 60 (an hour in a minute), or leave it out for real time.');
  }
  return speed;
}

export function parseDrill(raw: string | undefined): DrillName | undefined {
  if (raw === undefined) return undefined;
  if (!(raw in DRILLS)) throw userError('DEV_DRILL_UNKNOWN', `--drill "${raw.slice(0, 40)}" is not a drill.`, `Pass one of ${Object.keys(DRILLS).join(', ')}.`);
  return raw as DrillName;
}

export function parseHotPoint(raw: string): HotPoint {
  const match = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)(?:,([a-z0-9_]+)=(-?\d+(?:\.\d+)?))?$/.exec(raw.trim());
  const fix = `Pass --hot-point LAT,LON or LAT,LON,VARIABLE=VALUE with VARIABLE one of ${VARIABLES.join(', ')}, e.g. --hot-point 40.4,-3.7,temperature_2m=45.`;
  if (!match) throw userError('DEV_HOT_POINT_INVALID', `--hot-point "${raw.slice(0, 60)}" is not LAT,LON[,VARIABLE=VALUE].`, fix);
  const latitude = Number(match[1]);
  const longitude = Number(match[2]);
  const variable = match[3] ?? 'temperature_2m';
  if (latitude < -90 || latitude > 90 || longitude < -180 || longitude >= 180) throw userError('DEV_HOT_POINT_INVALID', `--hot-point ${raw}: latitude must be -90..90 and longitude -180..180.`, fix);
  if (!(VARIABLES as readonly string[]).includes(variable)) throw userError('DEV_HOT_POINT_INVALID', `--hot-point ${raw}: unknown variable ${variable}.`, fix);
  return { latitude, longitude, variable, value: match[4] === undefined ? 45 : Number(match[4]) };
}

function parseDatabaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw userError('DEV_DATABASE_URL_INVALID', '--database-url is not a URL.', 'Give postgres://USER:PASSWORD@HOST:PORT/DATABASE (in $WATCHPOINT_DEV_DATABASE_URL, so it stays out of argv).');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw userError('DEV_DATABASE_URL_INVALID', `--database-url must be a postgres:// URL, not ${url.protocol}//.`, 'Give postgres://USER:PASSWORD@HOST:PORT/DATABASE.');
  }
  return raw;
}

export async function runDev(input: DevOptions): Promise<number> {
  const { io, once, speed, drill, hotPoints, databaseUrl } = input;
  const { startDevPlatform, DevAlreadyRunningError } = await import('../../dev/platform.ts');
  const log = (line: string) => io.notify('info', line);
  // Ctrl-C and SIGTERM are this command's from here on: they stop what has started, then end the run.
  let signalled: ((code: number) => void) | undefined;
  const signal = new Promise<number>((resolve) => (signalled = resolve));
  const releaseCtrlC = handleCtrlC(() => signalled?.(ExitCode.interrupted));
  const onSigterm = () => signalled?.(143);
  process.once('SIGTERM', onSigterm);
  try {
    return await runPlatform();
  } finally {
    releaseCtrlC();
    process.off('SIGTERM', onSigterm);
  }

  async function runPlatform(): Promise<number> {
    io.notify('info', 'Starting the local platform: fauxqs (SQS, S3), aws-ses-v2-local, PostgreSQL, synth of the local stage...');
    const starting = startDevPlatform({
      cwd: input.cwd,
      speed,
      ...(databaseUrl ? { databaseUrl } : {}),
      allowLoopbackWebhooks: input.allowLoopbackWebhooks || once || Boolean(drill),
      hotPoints,
      runSchedulesAtStart: !once,
      watch: input.watch,
      log,
    });
    let platform: Awaited<typeof starting>;
    try {
      const first = await Promise.race([starting, signal]);
      if (typeof first === 'number') {
        io.notify('info', `${first === ExitCode.interrupted ? 'Ctrl-C' : 'SIGTERM'} while starting: stopping what has started...`);
        await starting.then((started) => started.stop(), () => undefined);
        io.notify('info', 'Stopped: nothing is left running.');
        return first;
      }
      platform = first;
    } catch (error) {
      if (error instanceof DevAlreadyRunningError) throw error;
      if (once) io.notify('error', 'FAILED at step "start the platform".');
      throw error;
    }

    const { state } = platform;
    const stopAll = async (why: string) => {
      io.notify('info', `${why} Stopping every server and function...`);
      await platform.stop();
      io.notify('info', 'Stopped: all servers and functions ended; nothing is left running.');
    };

    io.notify('info', `Ready in ${(platform.timings.ready! / 1000).toFixed(1)} s.`);
    if (once) {
      const { runOnce, StepFailed } = await import('../../dev/once.ts');
      try {
        const result = await Promise.race([
          runOnce(platform, { notify: log }),
          platform.crashed,
          signal.then((code) => Promise.reject(new Error(code === ExitCode.interrupted ? 'interrupted by Ctrl-C' : 'stopped by SIGTERM'))),
        ]);
        if (input.json) io.result(JSON.stringify({ ok: true, ...result, platform: { ...state, postgresPid: platform.postgresPid ?? null, timings: platform.timings } }, null, 2));
        else {
          io.result(['watchpoint dev --once: the platform did its whole job locally.', ...result.steps.map((s) => `  ok  ${s.step} (${s.ms} ms)${s.detail ? `: ${s.detail}` : ''}`)].join('\n'));
        }
        await stopAll('Done.');
        return ExitCode.ok;
      } catch (error) {
        const step = error instanceof StepFailed ? error.step : 'run the platform';
        const message = error instanceof Error ? error.message : String(error);
        if (input.json) io.result(JSON.stringify({ ok: false, failedStep: step, error: message }, null, 2));
        io.notify('error', `FAILED at step "${step}": ${message}\nfix: read the function log lines above for the error; \`watchpoint dev\` (without --once) keeps the platform running to look into it.`);
        await stopAll('Failed.');
        return ExitCode.failure;
      }
    }

    io.result(
      [
        'WatchPoint is running locally (127.0.0.1 only):',
        `  API               ${state.api}`,
        `  Mail (sent)       ${state.mail}`,
        `  Webhook receiver  ${state.webhooks}/<any path>`,
        `  AWS endpoint      ${state.endpoint}  (operator commands: --env local)`,
        `  Admin API key     ${platform.adminKey}   (shown once; stored in SSM /local/watchpoint/security/admin_api_key)`,
        `  Speed             x${speed}${hotPoints.length ? `; hot points ${hotPoints.map((p) => `${p.latitude},${p.longitude} ${p.variable}=${p.value}`).join('; ')}` : ''}`,
        input.allowLoopbackWebhooks || drill ? `  Webhooks          loopback/http targets allowed (${drill ? '--drill' : '--allow-loopback-webhooks'})` : '  Webhooks          public https only (add --allow-loopback-webhooks for the local receiver)',
        'Ctrl-C stops everything.',
      ].join('\n'),
    );

    if (drill) {
      const { runDrill, drillSummary } = await import('../../dev/drills.ts');
      io.notify('info', `Drill ${drill}: ${DRILLS[drill]}.`);
      try {
        const report = await Promise.race([
          runDrill(platform, drill, { speed, notify: log }),
          platform.crashed,
          signal.then((code) => Promise.reject(new Error(code === ExitCode.interrupted ? 'interrupted by Ctrl-C' : 'stopped by SIGTERM'))),
        ]);
        io.result(drillSummary(report));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        io.notify('error', `The drill ${drill} did not complete: ${message}\nfix: read the lines above for what failed; the platform is stopped, start the drill again.`);
        await stopAll('Failed.');
        return ExitCode.failure;
      }
    }

    const outcome = await Promise.race([signal, input.stopSignal?.then(() => ExitCode.ok) ?? new Promise<number>(() => undefined), platform.crashed.catch((error: Error) => error)]);
    if (outcome instanceof Error) {
      await stopAll(`${outcome.message}`);
      io.notify('error', `${outcome.message}\nfix: see the lines above for why it stopped, then start \`watchpoint dev\` again.`);
      return ExitCode.failure;
    }
    await stopAll(outcome === ExitCode.interrupted ? 'Ctrl-C.' : outcome === 143 ? 'SIGTERM.' : 'Stop requested.');
    return outcome;
  }
}

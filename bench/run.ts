// `npm run bench [name ...]`: the benchmarks the issues name, each reported as a ratio against a
// baseline measured in the same run (the machines are noisy). Exits 1 when a figure misses its budget.
import * as cli from './suites/cli.ts';
import * as deploySuite from './suites/deploy.ts';
import * as secrets from './suites/secrets.ts';
import * as status from './suites/status.ts';
import * as dlq from './suites/dlq.ts';
import * as pipeline from './suites/pipeline.ts';
import * as api from './suites/api.ts';
import * as delivery from './suites/delivery.ts';
import * as synth16 from './suites/synth.ts';
import * as incident from './suites/incident.ts';
import * as dev from './suites/dev.ts';
import * as aws14 from './suites/aws.ts';
import * as inner23 from './suites/inner-loop.ts';
import * as rollback21 from './suites/rollback.ts';
import * as capacity25 from './suites/capacity.ts';
import * as hotswap23 from './suites/hotswap.ts';

type Suite = () => Promise<boolean>;

/** Every benchmark, by name. Add a suite module under bench/suites and list its benchmarks here. */
const SUITES: Record<string, Suite> = {
  // issue 2: the CLI and the stack
  help: cli.help,
  synth: cli.synth,
  // issue 3: secrets
  'secrets-calls': secrets.secretsCalls,
  'secrets-latency': secrets.secretsLatency,
  // issue 4: deploy
  'deploy-image': deploySuite.image,
  'deploy-dry-run': deploySuite.dryRun,
  // issue 5: status
  'status-calls': status.calls,
  'status-wall': status.wall,
  // issue 6: dlq
  dlq: dlq.selectiveRedriveBench,
  // issue 8: forecast pipeline
  'pipeline-batcher': pipeline.batcher,
  'pipeline-eval': pipeline.evalWorker,
  'pipeline-bundles': pipeline.bundles,
  // issue 9: delivery
  'delivery-webhook': delivery.webhookThroughput,
  // issue 10: API
  'api-list': api.list,
  // issue 16: synth, diff and deploy in seconds (deploy-dry-run above is its fourth budget)
  'synth-cold': synth16.cold,
  'synth-warm': synth16.warm,
  'synth-rebuild': synth16.rebuild,
  'synth-nag': synth16.nag,
  // issue 17: logs, trace, drift
  'trace-run': incident.traceRun,
  'logs-9-groups': incident.logsNineGroups,
  // issue 18: watchpoint dev
  'dev-start': dev.start,
  'dev-cycle': dev.cycle,
  // issue 14: no command hangs: time to give up as a ratio of the configured budget
  'aws-black-hole': aws14.blackHole,
  'aws-throttled': aws14.throttled,
  // issue 23: seconds from an edit to running code (ratios against a cold synth)
  'synth-cache-warm': inner23.warm,
  'synth-cache-dry-run': inner23.dryRun,
  'synth-cache-dev-start': inner23.devStart,
  'dev-watch-reload': inner23.watchReload,
  // issue 23 item 2: deploy --hotswap against a full deploy of the same one-handler change (moto)
  hotswap: hotswap23.hotswap,
  // issue 21: rollback costs a fraction of the deploy it undoes
  rollback: rollback21.rollback,
  // issue 25: unit costs of a forecast cycle at several sizes, and the capacity model's validation
  capacity: capacity25.capacity,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in SUITES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  process.exitCode = 2;
} else {
  let ok = true;
  for (const name of wanted.length > 0 ? wanted : Object.keys(SUITES)) {
    ok = (await SUITES[name]!()) && ok;
  }
  process.exitCode = ok ? 0 : 1;
}

// Where AWS calls go, decided once per run from the stage: its region, and its awsEndpointUrl or
// real AWS. Every client follows it: the CLI's own (awsClientConfig) and toolkit-lib's, which reads
// only process.env, so the process environment is made to say the same thing for the run.
// A shell AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (or an endpoint_url in ~/.aws/config) never
// redirects a command: it is ignored, with a warning that says how to use it on purpose.

export interface AwsTarget {
  region: string;
  /** The stage's awsEndpointUrl; undefined means real AWS. */
  endpoint: string | undefined;
}

/** The one place that turns a stage into a target. A local platform plugs in here. */
export function awsTarget(stage: { region: string; awsEndpointUrl: string }): AwsTarget {
  return { region: stage.region, endpoint: stage.awsEndpointUrl === '' ? undefined : stage.awsEndpointUrl };
}

/** How the target is described to a person: "real AWS" or the endpoint. */
export function describeTarget(target: AwsTarget): string {
  return target.endpoint ? `endpoint ${target.endpoint} (not AWS)` : 'AWS';
}

const ENDPOINT_VARIABLE = /^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/;
/** toolkit-lib's own knob for the TemplateURL it gives CloudFormation; it redirects nothing else. */
const TEMPLATE_URL_VARIABLE = 'AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION';

/** The shell's endpoint variables that would redirect SDK calls. */
export function shellEndpointVariables(env: NodeJS.ProcessEnv): [string, string][] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => ENDPOINT_VARIABLE.test(entry[0]) && entry[0] !== TEMPLATE_URL_VARIABLE && typeof entry[1] === 'string' && entry[1] !== '')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The warning for ignored shell endpoint variables, with a fix that works; undefined when none. */
export function ignoredEndpointWarning(target: AwsTarget, env: NodeJS.ProcessEnv, envName: string): string | undefined {
  const found = shellEndpointVariables(env).filter(([, value]) => value !== target.endpoint);
  if (found.length === 0) return undefined;
  const listed = found.map(([name, value]) => `${name}=${value}`).join(', ');
  const first = found[0]![1];
  const where = target.endpoint ? `environment "${envName}" uses its awsEndpointUrl ${target.endpoint}` : `environment "${envName}" talks to real AWS (it has no awsEndpointUrl)`;
  return [
    `ignoring ${listed} from the shell: ${where}, for every call.`,
    `  fix: to use ${first} on purpose, set it for the environment (\`--aws-endpoint-url ${first}\` for one run, or \`watchpoint init --env ${envName} --aws-endpoint-url ${first}\`); to stop this warning, \`unset ${found.map(([name]) => name).join(' ')}\`.`,
  ].join('\n');
}

/**
 * Makes process.env agree with the target for toolkit-lib's clients (and any other SDK client in
 * this process): the target endpoint in AWS_ENDPOINT_URL, no per-service overrides, and for real
 * AWS the SDK told to ignore configured endpoints (env and ~/.aws/config). Returns the undo.
 */
export function applyTargetToProcessEnv(target: AwsTarget, env: NodeJS.ProcessEnv = process.env): () => void {
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, env[name]);
    if (value === undefined) delete env[name];
    else env[name] = value;
  };
  for (const [name] of shellEndpointVariables(env)) set(name, undefined);
  // The stack's environment carries the region too; this covers toolkit-lib's region-less lookups.
  set('AWS_REGION', target.region);
  set('AWS_DEFAULT_REGION', target.region);
  if (target.endpoint) {
    set('AWS_ENDPOINT_URL', target.endpoint);
    set('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', undefined);
  } else {
    set('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'true');
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
  };
}

// Child process of `watchpoint dev --watch` (stack-watch.ts): the local stage's templates, synthesized
// with the stack modules as they are on disk now, printed as JSON on stdout.
import { localTemplates } from './platform.ts';

const templates = await localTemplates((text) => process.stderr.write(`${text}\n`));
process.stdout.write(JSON.stringify({ platform: templates.platform, registry: templates.registry }));

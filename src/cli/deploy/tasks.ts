// A thin layer over listr2: a phase is a list of small tasks, rendered on stderr by the renderer
// pickRenderer chose. Questions are never asked inside a phase.
import type { RendererChoice } from '../renderer.ts';

export interface TaskHandle {
  /** Replace the task's title (e.g. with what it found). */
  title(text: string): void;
  /** A progress line under the task (resource activity). */
  output(text: string): void;
  /** Mark the task skipped, with the reason. */
  skip(reason: string): void;
}

export interface Step {
  title: string;
  enabled?: boolean;
  run: (task: TaskHandle) => Promise<void> | void;
}

export async function runPhase(renderer: RendererChoice, steps: Step[]): Promise<void> {
  const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  const list = new Listr(
    steps.map((step) => ({
      title: step.title,
      enabled: step.enabled ?? true,
      task: async (_ctx: unknown, task: { title: string; output: string; skip: (message?: string) => void }) => {
        await step.run({
          title: (text) => (task.title = text),
          output: (text) => (task.output = text),
          skip: (reason) => task.skip(reason),
        });
      },
      rendererOptions: { persistentOutput: false, outputBar: 8 },
    })),
    {
      concurrent: false,
      exitOnError: true,
      // deploy owns Ctrl-C: it says what state the stack is left in.
      registerSignalListeners: false,
      renderer,
      fallbackRenderer: 'simple',
      rendererOptions: { logger } as never,
      fallbackRendererOptions: { logger } as never,
    } as never,
  );
  await list.run();
}

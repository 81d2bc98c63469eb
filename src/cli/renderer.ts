// Which listr2 renderer a task list uses, decided in one pure function.
export type RendererChoice = 'default' | 'simple' | 'silent';

export function pickRenderer(input: { tty: boolean; ci: boolean; test: boolean; quiet?: boolean }): RendererChoice {
  if (input.test || input.quiet) return 'silent';
  if (input.ci || !input.tty) return 'simple';
  return 'default';
}

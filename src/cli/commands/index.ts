// Analysis commands (issue 5); main.ts dispatches to these.
export { analyzeCommand } from './analyze';
export { breakdownCommand } from './breakdown';
export { familyCommand } from './family';
export { hashesCommand } from './hashes';
export { healthCommand } from './health';
export { lineageCommand } from './lineage';
export { recipeCommand } from './recipe';
export { reportCommand } from './report';
export { chartsCommand } from './charts';

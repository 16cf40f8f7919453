/**
 * The analysis section of the comparison panel (`analysis/didChange`): status, breakdown, recipe, hashes, lineage,
 * health and family cards. In the static HTML report (`static: true`) the controls that would ask the host to compute
 * something are replaced by a short note.
 */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, RecipeEstimate, SchemeName, TimeEmbedPlacement } from '../../../../shared/analysis';
import type { HostToWebview } from '../../../../shared/protocol';
import type { Exporter } from '../../../shared/chartCard';
import { ce, h, replaceChildren } from '../../../shared/dom';
import type { Theme } from '../../../shared/theme';
import { BreakdownCard } from './breakdownCard';
import { FamilyCard } from './familyCard';
import { HashesCard } from './hashesCard';
import { HealthCard } from './healthCard';
import { LineageCard } from './lineageCard';
import { RecipeCard } from './recipeCard';
import { safeText } from '../../../../shared/text';

export interface AnalysisState {
  breakdownScheme: SchemeName;
  recipeModel: number | null;
  familyComponent: string;
}

export interface AnalysisHost {
  exporter: Exporter;
  theme: () => Theme;
  fitRecipe: (model: number, parents: number[]) => Promise<RecipeEstimate>;
  run: (params: { computeHashes?: boolean; timeEmbed?: TimeEmbedPlacement }) => void;
  pickPair: (a: number, b: number) => void;
  saveState: (patch: Partial<AnalysisState>) => void;
}

type AnalysisMessage = HostToWebview['analysis/didChange'];

export class AnalysisView {
  readonly root: HTMLElement;
  private readonly status = h('div', { class: 'md-analysis-status', id: 'analysis-status', role: 'status', attrs: { 'aria-live': 'polite' } });
  private readonly notes = h('ul', { class: 'md-muted md-notes-list', id: 'analysis-notes' });
  private readonly cards = h('div', { class: 'md-analysis-cards' });
  private readonly breakdown: BreakdownCard;
  private readonly recipe: RecipeCard;
  private readonly hashes: HashesCard;
  private readonly lineage: LineageCard;
  private readonly health: HealthCard;
  private readonly family: FamilyCard;
  private result: CompareResult | null = null;
  private message: AnalysisMessage | null = null;
  /** the last analysis received: kept on screen while a new run goes on */
  private analysis: AnalysisFile | null = null;

  constructor(
    host: AnalysisHost,
    initial: Partial<AnalysisState>,
  ) {
    const { exporter, theme } = host;
    this.breakdown = new BreakdownCard(
      exporter,
      theme,
      initial.breakdownScheme ?? 'block',
      (s) => host.saveState({ breakdownScheme: s }),
      (t) => host.run({ timeEmbed: t }),
      (a, b) => host.pickPair(a, b),
    );
    this.recipe = new RecipeCard(exporter, theme, initial.recipeModel ?? null, (m) => host.saveState({ recipeModel: m }), host.fitRecipe);
    this.hashes = new HashesCard(exporter, () => host.run({ computeHashes: true }));
    this.lineage = new LineageCard(exporter);
    this.health = new HealthCard(exporter);
    this.family = new FamilyCard(exporter, theme, initial.familyComponent ?? 'unet', (c) => host.saveState({ familyComponent: c }));
    this.cards.append(this.breakdown.card.root, this.recipe.card.root, this.family.card.root, this.health.card.root, this.lineage.card.root, this.hashes.card.root);
    this.cards.hidden = true;
    this.root = h('section', { class: 'md-analysis', id: 'analysis', attrs: { 'aria-label': 'Analyses' } }, h('h2', { class: 'md-section-title' }, 'Analyses'), this.status, this.notes, this.cards);
    this.root.hidden = true;
  }

  setResult(result: CompareResult): void {
    this.result = result;
    this.render();
  }

  setAnalysis(msg: AnalysisMessage): void {
    if (!msg || (msg.state !== 'running' && msg.state !== 'done' && msg.state !== 'failed')) return;
    this.message = msg;
    if (msg.state === 'done' && msg.analysis && Array.isArray(msg.analysis.recipes)) this.analysis = msg.analysis;
    this.render();
  }

  setPair(a: number, b: number): void {
    this.breakdown.setPair(a, b);
  }

  private render(): void {
    const msg = this.message;
    if (!msg) return;
    this.root.hidden = false;
    this.renderStatus(msg);
    const a = this.analysis;
    const r = this.result;
    this.cards.hidden = !a || !r;
    if (!a || !r) {
      replaceChildren(this.notes);
      return;
    }
    const stale = a.resultCreatedAt && r.createdAt && a.resultCreatedAt !== r.createdAt;
    replaceChildren(
      this.notes,
      stale ? h('li', { class: 'md-warn' }, `This analysis was made for another comparison (of ${safeText(a.resultCreatedAt)}).`) : null,
      ...a.notes.map((n) => h('li', null, safeText(n))),
    );
    const isStatic = msg.static === true;
    this.breakdown.setData(a, r, isStatic);
    this.recipe.setData(a, r, isStatic);
    this.hashes.setData(a, r, isStatic);
    this.lineage.setData(a, r);
    this.health.setData(a, r);
    this.family.setData(a, r);
  }

  private renderStatus(msg: AnalysisMessage): void {
    this.status.classList.toggle('md-error', msg.state === 'failed');
    this.status.hidden = msg.state === 'done';
    if (msg.state === 'running') {
      replaceChildren(this.status, h('p', null, this.analysis ? 'Analysing… (the results below are from the previous run)' : 'Analysing…'), ce('vscode-progress-bar', { attrs: { 'aria-label': 'Analysing' } }));
    } else if (msg.state === 'failed') {
      replaceChildren(this.status, h('p', { role: 'alert' }, `The analyses failed: ${safeText(msg.error ?? 'unknown error')}`));
    } else {
      replaceChildren(this.status);
    }
  }

  /** After a theme change: charts take the new colours. */
  rerender(): void {
    if (!this.analysis || !this.result) return;
    this.breakdown.render();
    this.recipe.rerender();
    this.family.render();
  }
}

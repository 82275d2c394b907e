/**
 * The worst-case history of one Standard workflow execution, derived from its ASL definition.
 *
 * Events per state follow the HistoryEvent types of the Step Functions API reference, counted
 * generously: a Task is TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted,
 * TaskSucceeded/Failed/TimedOut and TaskStateExited (6), and each retry attempt TaskScheduled,
 * TaskStarted, TaskSubmitted and TaskFailed (4); Pass, Choice, Wait and Succeed an entered and an
 * exited event (2); Fail FailStateEntered (1); the execution ExecutionStarted and its end (2).
 *
 * Loops are the cycles of the state graph. A cycle's iterations are bounded by
 * - its counters: a Pass that sets `<ResultPath>.x` to `States.MathAdd(<ResultPath>.x, 1)`
 *   increments x once per iteration, and the Choice rules the cycle passes bound x from above
 *   (the rule it takes, `x < n`, and every earlier rule it does not take, `x >= n`). A counter
 *   whose `x >= n` rule leads to a StartExecution of the machine itself (`$$.StateMachine.Id`)
 *   bounds one execution: the work continues as a new execution;
 * - time: the Wait states on the cycle (their `Seconds`) over the horizon, for a cycle that waits;
 *   one that does not (a listing, page by page) is bounded by its counters alone.
 * A cycle bounded by neither has no bound (Infinity). Strongly connected components (a loop with
 * its branches) share their budget; the execution is the longest path through them.
 */

export interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: ChoiceRule[];
  Catch?: Array<{ Next: string }>;
  Retry?: Array<{ MaxAttempts?: number }>;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
}
export interface ChoiceRule {
  Variable?: string;
  Next: string;
  NumericLessThan?: number;
  NumericLessThanEquals?: number;
  NumericGreaterThan?: number;
  NumericGreaterThanEquals?: number;
  [other: string]: unknown;
}
export interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** A loop of the state graph: its states in order, and what one iteration costs and allows. */
export interface Cycle {
  states: string[];
  events: number;
  /** Seconds of Wait per iteration. */
  seconds: number;
  /** Wait states per iteration: a loop that waits is bounded by time (a loop that does not, such as a listing, by its counters). */
  waits: number;
  /** Iterations allowed by counters that continue as a new execution (per execution). */
  perExecutionCap: number;
  /** Iterations allowed by every other counter (for the whole wait). */
  cap: number;
}

export function eventsOf(state: AslState): number {
  switch (state.Type) {
    case 'Task':
      return 6 + 4 * (state.Retry ?? []).reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
    case 'Pass':
    case 'Choice':
    case 'Wait':
    case 'Succeed':
      return 2;
    case 'Fail':
      return 1;
    default:
      throw new Error(`no history model for ${state.Type} states`);
  }
}

/** Where a state can go next, and under which Choice rule (index; -1 for Default). */
function edges(state: AslState): Array<{ to: string; rule?: number }> {
  const out: Array<{ to: string; rule?: number }> = [];
  if (state.Next) out.push({ to: state.Next });
  for (const [i, c] of (state.Choices ?? []).entries()) out.push({ to: c.Next, rule: i });
  if (state.Default) out.push({ to: state.Default, rule: -1 });
  for (const c of state.Catch ?? []) out.push({ to: c.Next });
  return out;
}

/** Counters a Pass increments by one: `<ResultPath>.x` ← `States.MathAdd(<ResultPath>.x, 1)`. */
function increments(state: AslState): string[] {
  if (state.Type !== 'Pass' || !state.Parameters || typeof state.ResultPath !== 'string') return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(state.Parameters)) {
    if (!key.endsWith('.$') || typeof value !== 'string') continue;
    const counter = `${state.ResultPath}.${key.slice(0, -2)}`;
    const m = /^States\.MathAdd\(\s*([^,\s]+)\s*,\s*1\s*\)$/.exec(value);
    if (m && m[1] === counter) found.push(counter);
  }
  return found;
}

const continuesAsNew = (s: AslState | undefined) => s?.Type === 'Task' && /:states:::states:startExecution$/.test(s.Resource ?? '') && s.Parameters?.['StateMachineArn.$'] === '$$.StateMachine.Id';

/** Upper bounds (exclusive) a Choice edge puts on counters: the rule taken and the ones passed over. */
function boundsOfEdge(asl: Asl, choice: AslState, rule: number): Map<string, { below: number; continues: boolean }> {
  const bounds = new Map<string, { below: number; continues: boolean }>();
  const add = (v: string, below: number, continues: boolean) => {
    const had = bounds.get(v);
    if (!had || below < had.below) bounds.set(v, { below, continues: continues || Boolean(had?.continues && had.below === below) });
  };
  const rules = choice.Choices ?? [];
  const passed = rule === -1 ? rules : rules.slice(0, rule);
  for (const r of passed) {
    if (!r.Variable) continue;
    const continues = continuesAsNew(asl.States[r.Next]);
    if (typeof r.NumericGreaterThanEquals === 'number') add(r.Variable, r.NumericGreaterThanEquals, continues);
    if (typeof r.NumericGreaterThan === 'number') add(r.Variable, r.NumericGreaterThan + 1, continues);
  }
  const taken = rule >= 0 ? rules[rule] : undefined;
  if (taken?.Variable) {
    if (typeof taken.NumericLessThan === 'number') add(taken.Variable, taken.NumericLessThan, false);
    if (typeof taken.NumericLessThanEquals === 'number') add(taken.Variable, taken.NumericLessThanEquals + 1, false);
  }
  return bounds;
}

/** Every simple cycle of the graph (the definitions are small). */
export function cyclesOf(asl: Asl): Cycle[] {
  const names = Object.keys(asl.States);
  const index = new Map(names.map((n, i) => [n, i]));
  const found: Array<Array<{ state: string; rule?: number }>> = [];
  for (const [s, start] of names.entries()) {
    const path: Array<{ state: string; rule?: number }> = [];
    const onPath = new Set<string>();
    const visit = (state: string) => {
      onPath.add(state);
      for (const e of edges(asl.States[state])) {
        const i = index.get(e.to);
        if (i === undefined || i < s) continue;
        path.push({ state, rule: e.rule });
        if (e.to === start) found.push([...path]);
        else if (!onPath.has(e.to)) visit(e.to);
        path.pop();
      }
      onPath.delete(state);
    };
    visit(start);
  }
  return found.map((steps) => {
    const states = steps.map((p) => p.state);
    const counters = new Set(states.flatMap((n) => increments(asl.States[n])));
    let cap = Infinity;
    let perExecutionCap = Infinity;
    for (const step of steps) {
      const state = asl.States[step.state];
      if (state.Type !== 'Choice' || step.rule === undefined) continue;
      for (const [v, b] of boundsOfEdge(asl, state, step.rule)) {
        if (!counters.has(v)) continue;
        if (b.continues) perExecutionCap = Math.min(perExecutionCap, b.below);
        else cap = Math.min(cap, b.below);
      }
    }
    const seconds = states.reduce((t, n) => {
      const st = asl.States[n];
      if (st.Type !== 'Wait') return t;
      if (typeof st.Seconds !== 'number') throw new Error(`${n}: only Waits with a fixed Seconds can be bounded`);
      return t + st.Seconds;
    }, 0);
    const waits = states.filter((n) => asl.States[n].Type === 'Wait').length;
    return { states, events: states.reduce((n, st) => n + eventsOf(asl.States[st]), 0), seconds, waits, cap, perExecutionCap };
  });
}

/** Strongly connected components (Tarjan), each as its set of states. */
function components(asl: Asl): string[][] {
  let next = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const { to } of edges(asl.States[v])) {
      if (!(to in asl.States)) continue;
      if (!idx.has(to)) {
        strong(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (on.has(to)) low.set(v, Math.min(low.get(v)!, idx.get(to)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      out.push(c);
    }
  };
  for (const n of Object.keys(asl.States)) if (!idx.has(n)) strong(n);
  return out;
}

export interface Bound {
  /**
   * `execution`: the execution continues as a new one at its per-execution caps, for any length
   * of time. `horizon`: no continuation of waiting loops, only time bounds them over `seconds`
   * (loops that never wait still need a cap).
   */
  mode: { execution: true } | { horizonSeconds: number };
  /** Count only paths through this state (e.g. the drain's loop). */
  through?: string;
}

/** Most iterations' events a loop (its cycles) can add to one execution. */
function loopEvents(cycles: Cycle[], mode: Bound['mode']): number {
  if ('execution' in mode) {
    let total = 0;
    // Cycles are capped each; every cycle of one loop passes its execution counter, so the
    // loop's iterations together stay under the largest per-execution cap.
    let budget = Math.max(...cycles.map((c) => Math.min(c.cap, c.perExecutionCap)));
    for (const c of [...cycles].sort((a, b) => b.events - a.events)) {
      const n = Math.min(c.cap, c.perExecutionCap, budget);
      if (n === Infinity) return Infinity;
      total += n * c.events;
      budget -= n;
    }
    return total;
  }
  let time = mode.horizonSeconds;
  let total = 0;
  for (const c of cycles.filter((c) => c.waits === 0)) total += Math.min(c.cap, c.perExecutionCap) * c.events;
  for (const c of cycles.filter((c) => c.waits > 0).sort((a, b) => b.events / b.seconds - a.events / a.seconds)) {
    const n = Math.min(c.cap, c.seconds === 0 ? Infinity : Math.ceil(time / c.seconds));
    if (n === Infinity) return Infinity;
    total += n * c.events;
    time = Math.max(0, time - n * c.seconds);
  }
  return total;
}

/** The most history events one execution can have, under `bound`. */
export function worstCaseHistory(asl: Asl, bound: Bound): number {
  const comps = components(asl);
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => c.forEach((s) => compOf.set(s, i)));
  const cycles = cyclesOf(asl);
  const weight = comps.map((states) => {
    const set = new Set(states);
    const inside = cycles.filter((c) => set.has(c.states[0]));
    const once = states.reduce((n, s) => n + eventsOf(asl.States[s]), 0);
    return inside.length ? once + loopEvents(inside, bound.mode) : once;
  });
  const succ = comps.map((states, i) => [...new Set(states.flatMap((s) => edges(asl.States[s]).map((e) => compOf.get(e.to)!)))].filter((j) => j !== i && j !== undefined));
  const memo = new Map<string, number>();
  // Longest path from component i to an end, having (or not yet) passed `through`.
  const longest = (i: number, passed: boolean): number => {
    const key = `${i}/${passed}`;
    if (memo.has(key)) return memo.get(key)!;
    const now = passed || (bound.through !== undefined && compOf.get(bound.through) === i) || bound.through === undefined;
    const rest = succ[i].map((j) => longest(j, now));
    const best = rest.length ? Math.max(...rest) : now ? 0 : -Infinity;
    memo.set(key, weight[i] + best);
    return weight[i] + best;
  };
  return 2 + longest(compOf.get(asl.StartAt)!, false);
}

/** The longest a loop that continues as a new execution can wait before it does: its per-execution cap at its slowest. */
export function secondsBeforeContinuing(asl: Asl): number {
  return Math.max(
    0,
    ...cyclesOf(asl)
      .filter((c) => c.perExecutionCap < Infinity && c.seconds > 0)
      .map((c) => Math.min(c.cap, c.perExecutionCap) * c.seconds),
  );
}

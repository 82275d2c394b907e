/**
 * `simulate(input)`: one discrete-event simulation of a fleet working a dataset (see
 * `simulation.ts` for what runs, `report.ts` for the figures). Deterministic: one seed, one result.
 */
import { reportOf, type SimulationReport } from './report';
import { scenarioOf, type ScenarioInput } from './scenario';
import { Simulation } from './simulation';

export { ScenarioError, type ScenarioInput, type KillSpec, type ChunkPath } from './scenario';
export type { SimulationReport, RateCheck } from './report';

/** Simulates a scenario and returns its figures. Throws ScenarioError for input it cannot simulate. */
export function simulate(input: ScenarioInput): SimulationReport {
  return reportOf(new Simulation(scenarioOf(input)).run());
}

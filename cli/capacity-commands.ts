import type { Command } from 'commander';
import { registerDoctorCommand } from './doctor';
import { registerPlanCommand } from './plan';

/** `shardline doctor` (bottleneck finder) and `shardline plan` (capacity planning). */
export function registerCapacityCommands(program: Command): void {
  registerDoctorCommand(program);
  registerPlanCommand(program);
}

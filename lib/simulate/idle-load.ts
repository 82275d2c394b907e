/**
 * The control plane's requests that are not chunk work (heartbeats, polls, control reads, metrics):
 * for a service that queues (the local emulator's one server) a steady random stream that the
 * chunks' requests wait behind; for the others only counted at the end, over each node's life.
 */
import type { EventQueue } from './event-queue';
import type { SimNode } from './node-model';
import type { Random } from './prng';
import type { Scenario } from './scenario';
import type { RequestSpec, Service, ServiceModel } from './service-model';

export interface IdleLoadDeps {
  scenario: Scenario;
  services: ServiceModel;
  q: EventQueue;
  random: Random;
  spec: (service: Service, kind: 'read' | 'write') => RequestSpec;
}

/** Starts the idle streams of the services that queue: Poisson arrivals at the control plane's rates. */
export function startIdleLoad({ scenario: s, services, q, random, spec }: IdleLoadDeps): void {
  const { perNode, fixed } = s.controlPlane;
  const streams: Array<[Service, 'read' | 'write', number]> = [
    ['dynamodb', 'read', perNode.dynamodbReads * s.nodes + fixed.dynamodbReads],
    ['dynamodb', 'write', perNode.dynamodbWrites * s.nodes + fixed.dynamodbWrites],
    ['sqs', 'read', perNode.sqs * s.nodes + fixed.sqs],
    ['cloudwatch', 'write', perNode.cloudwatch * s.nodes + fixed.cloudwatch],
  ];
  for (const [service, kind, perSecond] of streams) {
    if (perSecond <= 0 || !services.queues(service)) continue;
    const tick = () => {
      services.request(spec(service, kind), q.now);
      q.after((-Math.log(1 - random()) * 1000) / perSecond, tick);
    };
    q.after(0, tick);
  }
}

/** Counts the idle load of the services that do not queue, over each node's life up to `endMs`. */
export function countIdleLoad(s: Scenario, services: ServiceModel, nodes: SimNode[], endMs: number): void {
  const { perNode, fixed } = s.controlPlane;
  const nodeSeconds = nodes.reduce((sum, n) => sum + Math.min(endMs, n.killedAt ?? endMs), 0) / 1000;
  const seconds = endMs / 1000;
  const add = (service: Service, kind: 'read' | 'write', per: number, whole: number) => {
    if (!services.queues(service)) services.count(service, kind, Math.round(per * nodeSeconds + whole * seconds));
  };
  add('dynamodb', 'read', perNode.dynamodbReads, fixed.dynamodbReads);
  add('dynamodb', 'write', perNode.dynamodbWrites, fixed.dynamodbWrites);
  add('sqs', 'read', perNode.sqs, fixed.sqs);
  add('cloudwatch', 'write', perNode.cloudwatch, fixed.cloudwatch);
}

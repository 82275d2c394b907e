import { PRICES, type InstanceType } from './aws-limits';

/** Request rates and fleet of a plan, priced (us-east-1 on-demand list prices, see PRICES). */
export interface CostDemand {
  nodes: number;
  inst: InstanceType;
  sourceGets: number;
  replicaGets: number;
  puts: number;
  wcu: number;
  rcu: number;
  sqsRequests: number;
  objectRate: number;
  chunkerSecondsPerObject: number;
  chunker: { batchSize: number; memoryMiB: number };
}

/** USD of each part of the bill (per hour, or for the whole dataset). */
export interface CostLines {
  ec2: number;
  s3Requests: number;
  dynamodb: number;
  sqs: number;
  lambda: number;
  total: number;
}

/** USD per hour of running at the plan's rate. */
export function costPerHour(x: CostDemand): CostLines {
  const h = 3600;
  const lines = {
    ec2: x.nodes * x.inst.pricePerHour,
    s3Requests: (((x.sourceGets + x.replicaGets) * h) / 1000) * PRICES.s3GetPer1000 + ((x.puts * h) / 1000) * PRICES.s3PutPer1000,
    dynamodb: ((x.wcu * h) / 1e6) * PRICES.dynamoWritePerMillion + ((x.rcu * h) / 1e6) * PRICES.dynamoReadPerMillion,
    sqs: ((x.sqsRequests * h) / 1e6) * PRICES.sqsPerMillion,
    // Busy chunker time: objects/s × seconds per object, at its memory size.
    lambda:
      x.objectRate * x.chunkerSecondsPerObject * (x.chunker.memoryMiB / 1024) * h * PRICES.lambdaArmPerGbSecond + (((x.objectRate / x.chunker.batchSize) * h) / 1e6) * PRICES.lambdaPerMillionRequests,
  };
  return { ...lines, total: Object.values(lines).reduce((a, b) => a + b, 0) };
}

/** The cost lines times `hours`. */
export function scale(c: CostLines, hours: number): CostLines {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v * hours])) as unknown as CostLines;
}

/**
 * The discrete-event simulation: a fleet of agents working a dataset through modelled AWS
 * services in virtual time, with the project's own rules deciding what happens: the lease rule of
 * the ledger, the keep-alive period, the work consumer's concurrency and AIMD, jittered throttle
 * backoff, heartbeats and the failure detector's silence rule, the leader lease, lease hand-back
 * and replica repair by rendezvous placement (`placeShard`). Events are O(chunks): a chunk costs a
 * handful (receive, lease, GET, stream end, commit, delete, R pulls), heartbeats are computed, not
 * scheduled, and the idle control plane is counted unless a service queues (the emulator).
 * The shards' replicas live in `replica-model.ts`, the idle control plane in `idle-load.ts`.
 */
import { PLACEMENT_VIEW_MAX_AGE_MS } from '../agent/agent-deps';
import { concurrencyFor } from '../agent/work-consumer';
import { keepAliveEveryMs } from '../agent/lease-keep-alive';
import { DETECTOR_SWEEP_EVERY_MS, LEADER_LEASE_MS, LEASE_RENEW_EVERY_MS } from '../agent/leader-duties';
import { HEARTBEAT_EVERY_MS } from '../agent/membership';
import { jitteredBackoffMs } from '../agent/throttle-backoff';
import { RECEIVE_VISIBILITY_SECONDS } from '../agent/work-message';
import { chunkCost } from '../ops/capacity/chunk-cost';
import { EventQueue } from './event-queue';
import { SimNode } from './node-model';
import { seededRandom, type Random } from './prng';
import { ReplicaModel } from './replica-model';
import { countIdleLoad, startIdleLoad } from './idle-load';
import { busyRecheckSeconds, holdsLease, isSilent, leaseChunk, leaderLeaseFree, revokeLease, type HeldLease, type LedgerChunk } from './rules';
import { CHUNKER_SECONDS } from '../ops/plan';
import type { Scenario } from './scenario';
import { ServiceModel, type RequestSpec, type Service } from './service-model';
import { WorkQueue, type QueuedMessage } from './work-queue';

/** What the run observed, raw; `report.ts` turns it into figures. */
export interface SimulationOutcome {
  scenario: Scenario;
  /** Virtual milliseconds: when the last chunk committed, and when the last replica a recovery re-placed was in place. */
  makespanMs: number;
  repairedMs: number;
  bytesCommitted: number;
  /** Node-milliseconds of capacity (bytes per second × alive time) up to the makespan. */
  capacityByteMs: number;
  chunkLatenciesMs: Float64Array;
  commits: Uint8Array;
  attempts: number;
  leaseLost: number;
  duplicatesSeen: number;
  throttledChunks: number;
  /** Live PRESENT holders of every chunk at the end. */
  minLiveReplicas: number;
  chunksShortOfReplicas: number;
  services: ServiceModel;
  peakInFlightMessages: number;
  nodes: Array<Pick<SimNode, 'id' | 'alive' | 'killedAt' | 'declaredAt' | 'recoveredAt'>>;
  leaderChanges: number;
  events: number;
  wallMs: number;
}

export class Simulation {
  private readonly q = new EventQueue();
  private readonly random: Random;
  private readonly services: ServiceModel;
  private readonly queue: WorkQueue;
  private readonly nodes: SimNode[];
  private readonly ledger: Array<LedgerChunk | undefined>;
  private readonly chunkObject: Int32Array;
  private readonly chunkBytes: Float64Array;
  private readonly replicas: ReplicaModel;
  private readonly commits: Uint8Array;
  private readonly latencies: Float64Array;
  private committed = 0;
  private lastCommitAt = 0;
  private pendingRecoveries = 0;
  private attempts = 0;
  private leaseLost = 0;
  private duplicatesSeen = 0;
  private throttledChunks = 0;
  private leader = 0;
  private leaderExpiresAt = 0;
  private leaderChanges = 0;
  private readonly leaseMs: number;
  private readonly leaseReceipts = new Map<number, { message: QueuedMessage; receipt: number }>();
  private killed = false;
  private readonly sourcePartition: string[];
  private readonly processedPartition: string[];
  private readonly replicaWrites: number;

  constructor(private readonly s: Scenario) {
    this.random = seededRandom(s.seed);
    this.services = new ServiceModel(s.latency, this.random);
    this.queue = new WorkQueue(this.q);
    this.leaseMs = s.config.visibilityTimeoutSeconds * 1000;
    const configured = concurrencyFor({ gpus: s.instance.gpus, cpus: s.instance.vcpus }, s.config);
    const resources = {
      connection: s.latency.s3BytesPerConnection,
      cpu: (s.host ? Math.min(s.recordWorkers, s.host.cores / s.host.runnable) : s.recordWorkers) * s.recordBytesPerCore,
      network: (s.instance.networkGbps * 1e9) / 8,
    };
    this.nodes = Array.from({ length: s.nodes }, (_, i) => new SimNode(i, `node-${i}`, `az-${i % 3}`, this.random() * HEARTBEAT_EVERY_MS, configured, resources, this.q));
    this.ledger = new Array<LedgerChunk | undefined>(s.chunks);
    this.chunkObject = new Int32Array(s.chunks);
    this.chunkBytes = new Float64Array(s.chunks);
    this.commits = new Uint8Array(s.chunks);
    this.latencies = new Float64Array(s.chunks);
    this.replicaWrites = s.config.replicationFactor;
    this.sourcePartition = Array.from({ length: s.sourcePrefixes }, (_, i) => `source-prefix-${i}`);
    this.processedPartition = Array.from({ length: s.processedPartitions }, (_, i) => `processed-prefix-${i}`);
    this.replicas = new ReplicaModel({
      scenario: s,
      nodes: this.nodes,
      q: this.q,
      services: this.services,
      spec: (service, kind, extra) => this.spec(service, kind, extra),
      shardBytesOf: (c) => this.chunkBytes[c] * s.outputRatio,
      partitionOf: (c) => this.processedPartition[this.chunkObject[c] % s.processedPartitions],
    });
  }

  run(): SimulationOutcome {
    const wallStart = Date.now();
    this.startChunker();
    for (const node of this.nodes) this.startWorkers(node);
    this.q.at(0, () => this.controlTick());
    if (this.s.kill) this.q.at(this.s.kill.atMs, () => this.killNodes());
    startIdleLoad({ scenario: this.s, services: this.services, q: this.q, random: this.random, spec: (service, kind) => this.spec(service, kind) });
    let events = 0;
    while (!this.finished() && this.q.step()) events++;
    return this.outcome(events, Date.now() - wallStart);
  }

  // ---------------------------------------------------------------- requests

  private readonly plainSpecs = new Map<string, RequestSpec>();

  /** A request's description; the plain ones (no partition, no transfer) are made once. */
  private spec(service: Service, kind: 'read' | 'write', extra?: Partial<RequestSpec>): RequestSpec {
    const key = service + kind;
    let plain = this.plainSpecs.get(key);
    if (!plain) {
      const p = this.s.latency;
      const latency = service === 's3' ? (kind === 'read' ? p.s3Get : p.s3Put) : service === 'dynamodb' ? p.dynamodb : service === 'sqs' ? p.sqs : p.cloudwatch;
      plain = { service, kind, latency };
      this.plainSpecs.set(key, plain);
    }
    return extra ? { ...plain, ...extra } : plain;
  }

  /** Sends a request; `then(throttled)` runs when its answer arrives, or `onDead` if the node died meanwhile. */
  private call(node: SimNode | undefined, spec: RequestSpec, then: (throttled: boolean) => void, onDead?: () => void, timing: { start?: number; notBefore?: number } = {}): void {
    const { doneAt, throttled } = this.services.request(spec, this.q.now, timing.start ?? this.q.now);
    this.q.at(Math.max(doneAt, timing.notBefore ?? 0), () => {
      if (node && !node.alive) return onDead?.();
      then(throttled);
    });
  }

  /** A request retried after throttling the way the worker does: lower the concurrency (AIMD), wait with full jitter, try again. */
  private callRetrying(node: SimNode, spec: RequestSpec, then: () => void, timing: { start?: number; notBefore?: number } = {}, attempt = 0): void {
    this.call(
      node,
      spec,
      (throttled) => {
        if (!throttled) return then();
        if (attempt === 0) this.throttledChunks++;
        node.adaptive.throttled(node.configured);
        this.q.after(jitteredBackoffMs(Math.min(attempt, 10), 500, 10_000, this.random), () => node.alive && this.callRetrying(node, spec, then, {}, attempt + 1));
      },
      undefined,
      timing,
    );
  }

  // ---------------------------------------------------------------- chunker

  /** The chunker Lambda: every object of the run is planned (HEAD, ledger writes) and its chunks sent, `chunkerConcurrency` objects at once. */
  private startChunker(): void {
    const { s } = this;
    let next = 0;
    let chunk = 0;
    const planOne = () => {
      if (next >= s.objects) return;
      const object = next++;
      const bytes = Math.min(s.objectBytes, s.datasetBytes - object * s.objectBytes);
      const count = Math.ceil(bytes / s.chunkBytes);
      const first = chunk;
      chunk += count;
      for (let i = 0; i < count; i++) {
        this.chunkObject[first + i] = object;
        this.chunkBytes[first + i] = Math.min(s.chunkBytes, bytes - i * s.chunkBytes);
      }
      // `chunkObject`: HEAD, the plan's conditional write, then the chunks ten to a SendMessageBatch (each batch visible when
      // sent), then the object marked enqueued; the invocation's own overhead is CHUNKER_SECONDS.perObject.
      let t = this.q.now + CHUNKER_SECONDS.perObject * 1000;
      t = this.services.request(this.spec('s3', 'read', { partition: this.sourcePartition[object % s.sourcePrefixes] }), this.q.now, t).doneAt;
      t = this.services.request(this.spec('dynamodb', 'write'), this.q.now, t).doneAt;
      for (let b = 0; b < count; b += 10) {
        t = this.services.request(this.spec('sqs', 'write'), this.q.now, t).doneAt;
        const batch = Math.min(10, count - b);
        this.q.at(t, () => {
          for (let i = 0; i < batch; i++) this.queue.send(first + b + i);
        });
      }
      t = this.services.request(this.spec('dynamodb', 'write'), this.q.now, t).doneAt;
      this.q.at(t, planOne);
    };
    for (let i = 0; i < Math.min(s.chunkerConcurrency, s.objects); i++) planOne();
  }

  // ---------------------------------------------------------------- work loops

  /** `WorkConsumer.startWorkers`: loops up to the concurrency in force. */
  private startWorkers(node: SimNode): void {
    while (node.alive && node.workers < node.concurrency) this.workLoop(node, node.workers++);
  }

  /**
   * `WorkConsumer.workLoop`: receive one message and work it, again and again. While the queue is
   * empty only one loop long-polls; the others wait until it receives a message.
   */
  private workLoop(node: SimNode, slot: number): void {
    if (!node.alive) return;
    if (slot >= node.concurrency) {
      node.workers--;
      this.wakeWaiting(node);
      return;
    }
    if (node.idle && node.idlePoller) {
      node.waiting.push(() => this.workLoop(node, slot));
      return;
    }
    const idlePoll = node.idle;
    if (idlePoll) node.idlePoller = true;
    const again = () => {
      if (idlePoll) node.idlePoller = false;
      this.workLoop(node, slot);
    };
    this.call(node, this.spec('sqs', 'read'), () =>
      this.queue.receive(
        RECEIVE_VISIBILITY_SECONDS * 1000,
        this.s.receiveWaitSeconds * 1000,
        (message, receipt) => {
          if (!node.alive) return;
          node.idle = !message;
          if (!message) return again();
          this.wakeWaiting(node);
          if (this.random() < this.s.duplicateRate) this.queue.send(message.chunk); // at-least-once: a second copy
          this.handle(node, message, receipt, again);
        },
        () => node.alive,
      ),
    );
  }

  private wakeWaiting(node: SimNode): void {
    const waiting = node.waiting;
    node.waiting = [];
    for (const resume of waiting) resume();
  }

  /** `handleChunkMessage`: lease, then work, or delete a duplicate, or look again later. */
  private handle(node: SimNode, message: QueuedMessage, receipt: number, next: () => void): void {
    const c = message.chunk;
    const started = this.q.now;
    this.callRetrying(node, this.spec('dynamodb', 'write'), () => {
      const decision = leaseChunk(this.ledger[c], node.id, this.q.now, this.leaseMs);
      if (decision.outcome === 'done') {
        this.duplicatesSeen++;
        this.call(node, this.spec('sqs', 'write'), () => {
          this.queue.delete(message, receipt);
          next();
        });
        return;
      }
      if (decision.outcome === 'busy') {
        this.duplicatesSeen++;
        const seconds = busyRecheckSeconds(decision.leaseExpiresAt, this.q.now);
        this.call(node, this.spec('sqs', 'write'), () => {
          this.queue.changeVisibility(message, receipt, seconds * 1000);
          next();
        });
        return;
      }
      this.ledger[c] = decision.item;
      this.attempts++;
      // The placement targets, read off the critical path at most every PLACEMENT_VIEW_MAX_AGE_MS (a registry query).
      if (this.q.now - node.viewReadAt > PLACEMENT_VIEW_MAX_AGE_MS) {
        node.viewReadAt = this.q.now;
        this.services.request(this.spec('dynamodb', 'read'), this.q.now);
      }
      const lease: HeldLease = { owner: node.id, attempt: decision.item.attempt };
      node.leases.add(c);
      this.leaseReceipts.set(c, { message, receipt });
      node.working++;
      this.work(node, c, message, receipt, lease, started, next);
    });
  }

  /** `workLeasedChunk`: keep-alive, visibility, GET and process, upload, commit, delete, finalize. */
  private work(node: SimNode, c: number, message: QueuedMessage, receipt: number, lease: HeldLease, started: number, next: () => void): void {
    const { s } = this;
    const bytes = this.chunkBytes[c];
    const object = this.chunkObject[c];
    const shardBytes = bytes * s.outputRatio;
    let working = true;
    const keepAlive = (): void => {
      if (!working || !node.alive) return;
      // `startKeepAlive`: extend the ledger lease and the message's visibility together.
      this.call(node, this.spec('dynamodb', 'write'), () => {
        if (!holdsLease(this.ledger[c], lease)) return;
        (this.ledger[c] as LedgerChunk).leaseExpiresAt = this.q.now + this.leaseMs;
      });
      this.call(node, this.spec('sqs', 'write'), () => this.queue.changeVisibility(message, receipt, this.leaseMs));
      this.q.after(keepAliveEveryMs(this.leaseMs), keepAlive);
    };
    this.q.after(keepAliveEveryMs(this.leaseMs), keepAlive);
    const finish = (result: 'processed' | 'lease-lost') => {
      working = false;
      node.working--;
      node.leases.delete(c);
      if (result === 'processed') {
        this.latencies[c] = this.q.now - started;
        node.adaptive.succeeded(node.configured);
        this.startWorkers(node);
      }
      next();
    };
    // The visibility change, then the GET (`current`), or both at once (`diet`): one event, when the first byte is in.
    const visibility = this.services.request(this.spec('sqs', 'write'), this.q.now);
    const getAndProcess = () =>
      this.callRetrying(
        node,
        this.spec('s3', 'read', { partition: this.sourcePartition[object % s.sourcePrefixes] }),
        () => {
          this.queue.changeVisibility(message, receipt, this.leaseMs);
          // The record workers start with the node's first chunk; chunks that come meanwhile wait for them.
          if (node.workersReadyAt === undefined) node.workersReadyAt = this.q.now + s.recordWorkerStartMs;
          const wait = node.workersReadyAt - this.q.now;
          if (wait <= 0) node.stream(bytes, () => upload());
          else this.q.after(wait, () => node.alive && node.stream(bytes, () => upload()));
        },
        s.chunkPath === 'current' ? { start: visibility.doneAt } : { notBefore: visibility.doneAt },
      );
    const processedPartition = this.processedPartition[object % s.processedPartitions];
    const upload = () => {
      // Parts before the last went up while the records streamed; the last part and the complete (or one PUT) are on the path.
      const cost = chunkCost({ replicationFactor: s.config.replicationFactor, shardBytes, chunkSeconds: 0, visibilityTimeoutSeconds: s.config.visibilityTimeoutSeconds });
      const shardRequests = cost.s3ProcessedPuts - 1;
      for (let i = 1; i < shardRequests; i++) this.services.request(this.spec('s3', 'write', { partition: processedPartition }), this.q.now);
      const lastPart = Math.min(shardBytes, 8 * 1024 ** 2);
      // The current code also PUTs a rejects object, even empty, beside the shard's last part.
      const rejects = s.chunkPath === 'current' ? this.services.request(this.spec('s3', 'write', { partition: processedPartition }), this.q.now).doneAt : 0;
      this.callRetrying(node, this.spec('s3', 'write', { partition: processedPartition, extraMs: (lastPart / s.latency.s3BytesPerConnection) * 1000 }), commit, { notBefore: rejects });
    };
    const commit = () => {
      const r = this.replicaWrites;
      // The object item's update is the partition-bound part (2 units); the chunk and replica items are counted beside it.
      const spec = this.spec('dynamodb', 'write', { partition: `object#${object}`, units: 2, latency: s.latency.dynamodbTransaction });
      this.callRetrying(node, spec, () => {
        this.services.units('dynamodb', 'write', 2 * (1 + r), this.q.now); // the transaction's other items: the chunk and R replicas
        if (!holdsLease(this.ledger[c], lease)) {
          this.leaseLost++;
          return finish('lease-lost');
        }
        (this.ledger[c] as LedgerChunk).status = 'PROCESSED';
        this.commits[c]++;
        this.committed++;
        this.lastCommitAt = this.q.now;
        this.replicas.place(c);
        if (s.chunkPath === 'current') {
          // The delete, then the finalize read of the object: one event at the end of both.
          const deleted = this.services.request(this.spec('sqs', 'write'), this.q.now);
          this.call(
            node,
            this.spec('dynamodb', 'read', { partition: `object#${object}` }),
            () => {
              this.queue.delete(message, receipt);
              finish('processed');
            },
            undefined,
            { start: deleted.doneAt },
          );
        } else {
          this.call(node, this.spec('sqs', 'write'), () => this.queue.delete(message, receipt));
          finish('processed');
        }
      });
    };
    getAndProcess();
  }

  // ---------------------------------------------------------------- replicas

  // ---------------------------------------------------------------- leader, detector, recovery

  /** Every DETECTOR_SWEEP_EVERY_MS: the leader renews its lease and sweeps; without a live leader, another takes the expired lease. */
  private controlTick(): void {
    const now = this.q.now;
    const leader = this.nodes[this.leader];
    if (leader.alive) {
      this.leaderExpiresAt = now + LEADER_LEASE_MS;
      this.sweep(now);
    } else if (leaderLeaseFree(this.leaderExpiresAt, now)) {
      const next = this.nodes.find((n) => n.alive);
      if (next) {
        this.leader = next.index;
        this.leaderExpiresAt = now + LEADER_LEASE_MS;
        this.leaderChanges++;
      }
    }
    this.q.after(Math.min(DETECTOR_SWEEP_EVERY_MS, LEASE_RENEW_EVERY_MS), () => this.controlTick());
  }

  /** `detectFailures`: silent nodes are declared DEAD, then each is recovered apart; the sweep's healthy nodes become the placement view. */
  private sweep(now: number): void {
    const timeoutMs = this.s.config.heartbeatTimeoutSeconds * 1000;
    const declared: SimNode[] = [];
    const left: number[] = [];
    for (const node of this.nodes) {
      const registryItem = { status: node.status, lastHeartbeat: node.lastHeartbeat(now, HEARTBEAT_EVERY_MS) };
      const silent = now - registryItem.lastHeartbeat > timeoutMs;
      if ((silent || node.status === 'DEAD') && !this.replicas.isExcluded(node.index)) left.push(node.index);
      if (isSilent(registryItem, now, timeoutMs)) {
        node.status = 'DEAD';
        node.declaredAt = now;
        declared.push(node);
      }
    }
    this.replicas.exclude(left);
    for (const node of declared) {
      this.services.request(this.spec('dynamodb', 'write'), now); // markDead
      this.recover(node);
    }
  }

  /** `recover`: hand back the dead node's leases (messages visible at once), then re-place its replicas, eight shards at a time. */
  private recover(dead: SimNode): void {
    this.pendingRecoveries++;
    const leased = [...dead.leases];
    const lost = [...dead.held];
    const handBack = (i: number): void => {
      if (i >= leased.length) return repair(0);
      const c = leased[i];
      this.call(undefined, this.spec('dynamodb', 'write'), () => {
        const item = this.ledger[c];
        if (item && item.status === 'LEASED' && item.leaseOwner === dead.id) {
          this.ledger[c] = revokeLease(item);
          const message = this.pendingMessage(c);
          this.call(undefined, this.spec('sqs', 'write'), () => message && this.queue.changeVisibility(message.message, message.receipt, 0));
        }
        handBack(i + 1);
      });
    };
    const repair = (i: number): void => {
      if (i >= lost.length) {
        dead.recoveredAt = this.q.now;
        this.pendingRecoveries--;
        this.replicas.lastRepairAt = Math.max(this.replicas.lastRepairAt, this.q.now);
        return;
      }
      const batch = lost.slice(i, i + 8);
      // Per shard: PutItem for each new holder, the chunk's replica list, the delete of the lost item; the batch's shards in parallel.
      const spec = this.spec('dynamodb', 'write');
      const { doneAt } = this.services.request(spec, this.q.now);
      for (let k = 1; k < batch.length * (2 + this.s.config.replicationFactor); k++) this.services.request(spec, this.q.now);
      this.q.at(doneAt + 2 * (doneAt - this.q.now), () => {
        for (const c of batch) this.replicas.replace(c, dead);
        repair(i + 8);
      });
    };
    this.call(undefined, this.spec('dynamodb', 'read'), () => handBack(0)); // leasesOf: the by-holder index
  }

  /** The receipt handle the ledger stored with `c`'s latest lease. */
  private pendingMessage(c: number): { message: QueuedMessage; receipt: number } | undefined {
    return this.leaseReceipts.get(c);
  }

  /** SIGKILL of `fraction` of the nodes, chosen by the seeded generator. */
  private killNodes(): void {
    const kill = this.s.kill;
    if (!kill) return;
    const count = Math.max(1, Math.round(kill.fraction * this.nodes.length));
    const order = this.nodes.map((n) => n.index);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    if (kill.leader) order.unshift(...order.splice(order.indexOf(this.leader), 1));
    for (const i of order.slice(0, count)) this.nodes[i].kill(this.q.now);
    this.killed = true;
  }

  // ---------------------------------------------------------------- end

  private finished(): boolean {
    if (this.committed < this.s.chunks || this.replicas.pendingPulls > 0 || this.pendingRecoveries > 0) return false;
    // A failure still to come, or a killed node not yet recovered, would change the replicas.
    if (this.s.kill && !this.killed) return false;
    return this.nodes.every((n) => n.alive || n.recoveredAt !== undefined);
  }

  private outcome(events: number, wallMs: number): SimulationOutcome {
    const makespanMs = this.lastCommitAt;
    countIdleLoad(this.s, this.services, this.nodes, makespanMs);
    let minLive = Infinity;
    let short = 0;
    const want = Math.min(this.s.config.replicationFactor, this.nodes.filter((n) => n.alive).length);
    for (let c = 0; c < this.s.chunks; c++) {
      const live = this.replicas.livePresent(c);
      minLive = Math.min(minLive, live);
      if (live < want) short++;
    }
    const processed = this.latencies.filter((v) => v > 0);
    return {
      scenario: this.s,
      makespanMs,
      repairedMs: this.replicas.lastRepairAt,
      bytesCommitted: this.commitBytes(),
      capacityByteMs: this.nodes.reduce((sum, n) => sum + n.capacity * Math.min(makespanMs, n.killedAt ?? makespanMs), 0),
      chunkLatenciesMs: processed,
      commits: this.commits,
      attempts: this.attempts,
      leaseLost: this.leaseLost,
      duplicatesSeen: this.duplicatesSeen,
      throttledChunks: this.throttledChunks,
      minLiveReplicas: minLive === Infinity ? 0 : minLive,
      chunksShortOfReplicas: short,
      services: this.services,
      peakInFlightMessages: this.queue.peakInFlight,
      nodes: this.nodes.map((n) => ({ id: n.id, alive: n.alive, killedAt: n.killedAt, declaredAt: n.declaredAt, recoveredAt: n.recoveredAt })),
      leaderChanges: this.leaderChanges,
      events,
      wallMs,
    };
  }

  private commitBytes(): number {
    let sum = 0;
    for (let c = 0; c < this.s.chunks; c++) if (this.commits[c] > 0) sum += this.chunkBytes[c];
    return sum;
  }
}

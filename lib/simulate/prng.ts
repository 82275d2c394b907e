/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32), so that one seed gives one
 * simulation, bit for bit, on any machine: `Math.random` is never used by the simulator.
 */
export interface Random {
  /** Uniform in [0, 1). */
  (): number;
}

/** splitmix32: spreads a small seed over 32 bits. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator of uniform numbers in [0, 1) from `seed` (sfc32: small, fast, passes PractRand to 2^40). */
export function seededRandom(seed: number): Random {
  const mix = splitmix32(seed);
  let [a, b, c, d] = [mix(), mix(), mix(), mix()];
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // discard the first outputs, as sfc32's author does
  return next;
}

/** A latency distribution: log-normal, given by its median and its 99th percentile (milliseconds). */
export interface LatencyDistribution {
  p50Ms: number;
  p99Ms: number;
}

/** z of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326347874;

/** Draws from a log-normal distribution with the given median and 99th percentile (Box–Muller). */
export function sampleLatencyMs(random: Random, d: LatencyDistribution): number {
  if (d.p99Ms <= d.p50Ms) return d.p50Ms;
  const sigma = Math.log(d.p99Ms / d.p50Ms) / Z99;
  const u = 1 - random(); // (0, 1]
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return d.p50Ms * Math.exp(sigma * z);
}

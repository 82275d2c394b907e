import { configFromEnv, parsePipelineConfig } from '../../lib/config/pipeline-config';

describe('parsePipelineConfig', () => {
  it('fills defaults when given nothing', () => {
    expect(parsePipelineConfig({})).toMatchObject({ chunkSizeBytes: 64 * 1024 * 1024, replicationFactor: 2 });
  });

  it('refuses a bad value and names the field and the reason', () => {
    expect(() => parsePipelineConfig({ replicationFactor: 0 })).toThrow(/replicationFactor: .*>=1/);
  });

  it('refuses unknown fields so typos do not pass silently', () => {
    expect(() => parsePipelineConfig({ chunkSize: 5 })).toThrow(/Unrecognized key/);
  });

  it('refuses a config that is not JSON', () => {
    expect(() => configFromEnv({ SHARDLINE_CONFIG: '{bad' })).toThrow(/not JSON/);
  });
});

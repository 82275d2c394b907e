import { referencedIds, resolveValue, UnresolvableError, type ResolveContext } from '../../../local/provision/intrinsics';
import { bucketName, queueName, tableName } from '../../../local/provision/names';

const ctx: ResolveContext = {
  region: 'eu-west-1',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
  accountId: () => '123456789012',
  ref: (id) => ({ Queue: 'http://127.0.0.1:1/123456789012/q', Bucket: 'b' })[id],
  getAtt: (id, attribute) => (id === 'Queue' && attribute === 'Arn' ? 'arn:aws:sqs:eu-west-1:123456789012:q' : undefined),
  parameters: { Stage: { Default: 'dev' } },
  conditions: { IsDev: { 'Fn::Equals': [{ Ref: 'Stage' }, 'dev'] } },
};

describe('local physical names', () => {
  it('keeps bucket names within S3 rules when the logical id is long or odd', () => {
    const name = bucketName('Shardline_Local', `Ingest.Bucket${'X'.repeat(80)}`);
    expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(name).toBe(bucketName('Shardline_Local', `Ingest.Bucket${'X'.repeat(80)}`));
    expect(name).not.toBe(bucketName('Shardline_Local', `Ingest.Bucket${'X'.repeat(81)}`));
  });

  it('keeps queue and table names within their limits when the logical id is long', () => {
    expect(queueName('p', 'Q'.repeat(100)).length).toBeLessThanOrEqual(80);
    expect(queueName('p', 'Q'.repeat(100), true)).toMatch(/^[a-z0-9_-]{1,75}\.fifo$/);
    expect(tableName('p', 'T'.repeat(300)).length).toBeLessThanOrEqual(255);
  });
});

describe('resolveValue', () => {
  it('resolves Ref, GetAtt, Join and Sub when they name created resources and pseudo parameters', () => {
    const value = {
      url: { Ref: 'Queue' },
      arn: { 'Fn::GetAtt': 'Queue.Arn' },
      joined: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'Bucket' }]] },
      sub: { 'Fn::Sub': ['${Bucket}/${AWS::Region}/${Queue.Arn}/${X}/${!Literal}', { X: { Ref: 'Stage' } }] },
      maybe: { 'Fn::If': ['IsDev', 'yes', { Ref: 'AWS::NoValue' }] },
      dropped: { 'Fn::If': ['IsDev', { Ref: 'AWS::NoValue' }, 'no'] },
    };

    expect(resolveValue(value, ctx)).toEqual({
      url: 'http://127.0.0.1:1/123456789012/q',
      arn: 'arn:aws:sqs:eu-west-1:123456789012:q',
      joined: 'arn:aws:s3:::b',
      sub: 'b/eu-west-1/arn:aws:sqs:eu-west-1:123456789012:q/dev/${Literal}',
      maybe: 'yes',
    });
  });

  it('throws UnresolvableError when a value names a resource that was not created', () => {
    expect(() => resolveValue({ 'Fn::GetAtt': ['Function', 'Arn'] }, ctx)).toThrow(UnresolvableError);
    expect(() => resolveValue({ Ref: 'Function' }, ctx)).toThrow(UnresolvableError);
  });

  it('lists the resources a value depends on when it uses Ref, GetAtt and Sub', () => {
    const deps = referencedIds({ a: { Ref: 'A' }, b: [{ 'Fn::GetAtt': ['B', 'Arn'] }], c: { 'Fn::Sub': '${C.Arn}-${AWS::Region}-${!D}' } });
    expect([...deps].sort()).toEqual(['A', 'AWS::Region', 'B', 'C']);
  });
});

import { Match, Template } from 'aws-cdk-lib/assertions';
import { Storage } from '../../../infra/constructs/storage';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const storage = new Storage(stack, 'Storage', { retainData: true });
const template = Template.fromStack(stack);
const propsOf = (c: Parameters<typeof logicalIdOf>[0]) => template.toJSON().Resources[logicalIdOf(c)];

describe('Storage', () => {
  it('creates the processed bucket and its access-log bucket, each with a bucket policy', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.resourceCountIs('AWS::S3::BucketPolicy', 2);
  });

  it.each(['processed', 'access-log'])('encrypts the %s bucket and blocks public access to it', (which) => {
    const bucket = which === 'processed' ? storage.processedBucket : storage.accessLogsBucket;
    const { Properties } = propsOf(bucket);
    expect(Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  });

  it.each(['processed', 'access-log'])('denies non-TLS access to the %s bucket', (which) => {
    const bucket = which === 'processed' ? storage.processedBucket : storage.accessLogsBucket;
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(bucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('versions the processed bucket and logs access to it under processed/', () => {
    expect(propsOf(storage.processedBucket).Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(storage.accessLogsBucket) }, LogFilePrefix: 'processed/' },
    });
  });

  it('aborts incomplete multipart uploads after a day, expires old versions after 30 days (7 under checkpoints/, 1 under staging/, where current ones expire after 7) and then their delete markers', () => {
    expect(propsOf(storage.processedBucket).Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: 'checkpoints/', NoncurrentVersionExpiration: { NoncurrentDays: 7 }, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: 'staging/', ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' }),
    ]);
  });

  it('keeps pruned checkpoints recoverable for the configured days', () => {
    const other = bareStack();
    const s = new Storage(other, 'Storage', { retainData: false, checkpointNoncurrentDays: 2 });
    const rules = Template.fromStack(other).toJSON().Resources[logicalIdOf(s.processedBucket)].Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'checkpoints/', NoncurrentVersionExpiration: { NoncurrentDays: 2 } }));
  });

  it('keeps access logs a year in an unversioned bucket that the log delivery can write to', () => {
    const { Properties } = propsOf(storage.accessLogsBucket);
    expect(Properties.VersioningConfiguration).toBeUndefined();
    expect(Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] });
    expect(Properties.LifecycleConfiguration.Rules).toEqual([expect.objectContaining({ ExpirationInDays: 365 })]);
  });

  it('retains both buckets when retainData is set', () => {
    for (const bucket of [storage.processedBucket, storage.accessLogsBucket]) expect(propsOf(bucket).DeletionPolicy).toBe('Retain');
  });

  it('deletes both buckets with the stack when retainData is off', () => {
    const other = bareStack();
    new Storage(other, 'Storage', { retainData: false });
    for (const b of Object.values(Template.fromStack(other).findResources('AWS::S3::Bucket'))) expect(b.DeletionPolicy).toBe('Delete');
  });

  it('passes the cdk-nag AwsSolutions checks with no acknowledgement', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

// The CDK context the app is built with, feature flags included. Kept free of aws-cdk-lib so the
// assembly cache (assembly/cache.ts) can put it in its key without loading the CDK.

/** Feature flags and settings every synth of this app uses. */
export const APP_FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  // Grant S3 server access log delivery through a bucket policy instead of the legacy ACL.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

/** The context given to `new App()`. */
export function appContext(options: { pathMetadata?: boolean | undefined }): Record<string, unknown> {
  return {
    ...APP_FEATURE_FLAGS,
    ...(options.pathMetadata ? { 'aws:cdk:enable-path-metadata': true } : {}),
  };
}

import { Logger } from '@nestjs/common';
import { startSampleApp } from './sample-app';

async function main(): Promise<void> {
  const sample = await startSampleApp();
  const logger = new Logger('Sample');
  logger.log(`listening on ${sample.url}`);
  logger.log(
    sample.sandbox
      ? `using the embedded Cashy sandbox at ${sample.sandbox.baseUrl}`
      : `using the gateway at ${process.env.CASHY_BASE_URL}`,
  );
  if (!sample.sandbox && !process.env.CASHY_NOTIFY_URL) {
    // Cashy calls back a public URL; the sample cannot guess one for a real gateway.
    logger.warn(
      'CASHY_NOTIFY_URL is not set: give notifyUrl with each payout, or set it to a public URL of POST /payout/webhook',
    );
  }
  const shutdown = () => void sample.close();
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

import { Logger } from '@nestjs/common';
import { startSampleApp } from './sample-app';

async function main(): Promise<void> {
  const sample = await startSampleApp();
  const logger = new Logger('Sample');
  logger.log(`listening on ${sample.url}`);
  logger.log(sample.sandbox ? `using the embedded Cashy sandbox at ${sample.sandbox.baseUrl}` : `using the gateway at ${process.env.CASHY_BASE_URL}`);
  const shutdown = () => void sample.close();
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

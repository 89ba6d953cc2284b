/**
 * The CDK app: `cdk synth` / `cdk deploy` run this (see cdk.json). Configuration comes from context only
 * (`-c account=… -c region=…`, see lib/parley-app.ts), never from lookups, so synth works offline.
 */
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { buildParley } from '../lib/parley-app.ts';

const app = new App();
buildParley(app, { projectRoot: fileURLToPath(new URL('..', import.meta.url)) });
app.synth();

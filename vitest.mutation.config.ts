/**
 * The vitest configuration Stryker runs (stryker.config.json): the project's, without the end-to-end tests.
 * Those run the whole local runtime, whose worker threads never see Stryker's active mutant, and they are
 * timing-sensitive under the mutation load (two instrumented runners on two cores), where they failed
 * Stryker's initial run at random. The connectors and domain are killed by their own unit tests.
 */
import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default mergeConfig(base, defineConfig({ test: { exclude: [...configDefaults.exclude, 'test/e2e/**'] } }));

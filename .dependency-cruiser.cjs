/**
 * The architecture's dependency rules, checked in CI (`npm run lint:deps`): dependencies point inward.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-self-contained',
      comment: 'domain/ is plain TypeScript over its own ports: it imports nothing of the rest of Parley.',
      severity: 'error',
      from: { path: '^domain/' },
      to: { path: '^(adapters|api|connectors|functions|lib|bin|runtime|topology|scripts|bench|test)/' },
    },
    {
      name: 'connectors-see-only-the-domain',
      comment: 'A connector knows its channel and the domain port it implements, nothing else.',
      severity: 'error',
      from: { path: '^connectors/' },
      to: { path: '^(adapters|api|functions|lib|bin|runtime|topology|scripts|bench)/' },
    },
    {
      name: 'adapters-never-import-handlers',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^(functions|api|lib|bin|runtime|scripts|bench)/' },
    },
    {
      name: 'api-is-over-ports',
      comment: 'The integrator API works over domain ports; the composition roots choose adapters.',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^(adapters|functions|lib|bin|runtime|scripts|bench)/' },
    },
    {
      name: 'only-bin-imports-the-stacks',
      severity: 'error',
      from: { path: '^(?!bin/|lib/|test/cdk/)' },
      to: { path: '^lib/' },
    },
    {
      name: 'nothing-imports-the-local-runtime',
      comment: 'Development-only code (the local runtime, sandboxes) stays out of the Lambda bundles.',
      severity: 'error',
      from: { path: '^(domain|adapters|api|connectors|functions|lib|bin|topology)/' },
      to: { path: '^(runtime|scripts|bench|test)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk.out)' },
    parser: 'swc',
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    moduleSystems: ['es6'],
  },
};

// Entry of the local runtime's back-office worker thread. A worker does not inherit the TypeScript loader
// on every Node version Parley supports, so it registers tsx itself before loading the TypeScript host.
import { register } from 'tsx/esm/api';

register();
await import('./backoffice.ts');

import { runConformanceSuite } from '../conformance.ts';
import { kit } from './messenger.kit.ts';

runConformanceSuite(kit);

import { runConformanceSuite } from '../conformance.ts';
import { kit } from './telegram.kit.ts';

runConformanceSuite(kit);

import { runConformanceSuite } from '../conformance.ts';
import { kit } from './line.kit.ts';

runConformanceSuite(kit);

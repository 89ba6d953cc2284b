import { runConformanceSuite } from '../conformance.ts';
import { kit } from './instagram.kit.ts';

runConformanceSuite(kit);

import { runConformanceSuite } from '../conformance.ts';
import { kit } from './kakaotalk.kit.ts';

runConformanceSuite(kit);

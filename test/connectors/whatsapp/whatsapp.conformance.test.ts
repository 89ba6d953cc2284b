import { runConformanceSuite } from '../conformance.ts';
import { kit } from './whatsapp.kit.ts';

runConformanceSuite(kit);

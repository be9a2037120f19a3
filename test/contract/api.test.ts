// The core contract suite against every backend, over a Unix socket and over TCP, with and
// without a base path.
import { describeEveryBackend } from '../helpers/matrix';
import { defineContractTests } from './suite';

describeEveryBackend(defineContractTests);

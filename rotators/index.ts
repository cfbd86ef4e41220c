// The built-in rotators: one descriptor each, one line each. Adding a rotator is its folder and a line here.
import type { RotatorDescriptor } from '../src/rotator/contract.js';
import awsRdsMaster from './aws-rds-master/descriptor.js';
import command from './command/descriptor.js';
import postgres from './postgres/descriptor.js';
import randomSecret from './random-secret/descriptor.js';
import redisAcl from './redis-acl/descriptor.js';

export const BUILT_IN_ROTATORS: readonly RotatorDescriptor<Record<string, unknown>>[] = [postgres, awsRdsMaster, randomSecret, redisAcl, command];

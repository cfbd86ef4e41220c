// The built-in rotators: one descriptor each, one line each (the export's name does not matter,
// src/rotator/catalogue.ts takes them all). Adding a rotator is its folder and a line here.
export { default as awsIamAccessKey } from './aws-iam-access-key/descriptor.js';
export { default as awsRdsMaster } from './aws-rds-master/descriptor.js';
export { default as command } from './command/descriptor.js';
export { default as http } from './http/descriptor.js';
export { default as ldap } from './ldap/descriptor.js';
export { default as manual } from './manual/descriptor.js';
export { default as mysql } from './mysql/descriptor.js';
export { default as postgres } from './postgres/descriptor.js';
export { default as randomSecret } from './random-secret/descriptor.js';
export { default as redisAcl } from './redis-acl/descriptor.js';

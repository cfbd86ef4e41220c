// The shape of an AWS region name, for schemas outside the store (the ecs consumer's `region:`).
export { AWS_REGION_PATTERN } from '../store/aws-location.js';

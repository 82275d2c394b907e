/** Tests run as TypeScript through SWC (no type-check here: `npm run build` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // middy 6 ships ESM only, so it must go through the transform too.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testTimeout: 120000,
};

/** The connector port lives in the domain (`domain/connector.ts`); connectors import it from here. */
export * from '../domain/connector.ts';

// INTROSPECTION=false: `__schema` and `__type` are refused while validating, with
// INTROSPECTION_DISABLED (`__typename` stays: clients need it for unions and interfaces).
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LimitCode } from './codes.ts';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

export const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (!INTROSPECTION_FIELDS.has(node.name.value)) return;
    context.reportError(
      new GraphQLError('Introspection is disabled on this server.', {
        nodes: node,
        extensions: { code: LimitCode.INTROSPECTION_DISABLED, http: { status: 400, spec: true } },
      }),
    );
  },
});

export function useDisableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noIntrospectionRule);
    },
  };
}

import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';

/** The JSON Schema of what a zod schema accepts (its input), for the OpenAPI document. */
export const jsonSchemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/**
 * One documented query parameter per field of a zod object schema (rather than one opaque object),
 * so that clients and the API fuzzer (test/api-fuzz.test.ts) see every filter with its constraints.
 */
export function ApiQueryFrom(schema: z.ZodType): MethodDecorator {
  const json = jsonSchemaOf(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) => ApiQuery({ name, required: json.required?.includes(name) === true && !('default' in property), schema: property })),
  );
}

// The OpenAPI 3.1 document of the public API, rendered from api.ts: each
// route's parameters and bodies are the JSON Schema (2020-12, OpenAPI 3.1's
// dialect) of the zod schemas that validate them, as a client sends them.
import { z } from "zod";
import { API, API_VERSION, type ApiRoute } from "./api";

/** OpenAPI's path form: `/v1/videos/{id}`. */
export const openApiPath = (fastifyPath: string) => fastifyPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

const jsonSchema = (schema: z.ZodType, io: "input" | "output") => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io }) as Record<
    string,
    unknown
  >;
  return rest;
};

function parameters(route: ApiRoute) {
  const of = (where: "path" | "query", shape: z.ZodObject | undefined) =>
    Object.entries(shape?.shape ?? {}).map(([name, field]) => {
      const schema = field as z.ZodType;
      return {
        name,
        in: where,
        required: where === "path" || !schema.safeParse(undefined).success,
        schema: jsonSchema(schema, "input"),
      };
    });
  const headers = Object.entries(route.headers ?? {}).map(([name, schema]) => ({
    name,
    in: "header",
    required: !schema.safeParse(undefined).success,
    schema: jsonSchema(schema, "input"),
  }));
  return [...of("path", route.params), ...of("query", route.query), ...headers];
}

function operation(route: ApiRoute) {
  const params = parameters(route);
  return {
    summary: route.summary,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: jsonSchema(route.body, "input") } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.answers).map(([status, answer]) => [
        status,
        {
          description: answer.description,
          ...(answer.body
            ? { content: { "application/json": { schema: jsonSchema(answer.body, "output") } } }
            : {}),
        },
      ]),
    ),
  };
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "golive gateway",
      version: API_VERSION,
      description:
        "The public HTTP API in front of the feed. Every error is JSON {code, message, requestId}; every answer carries x-request-id.",
    },
    paths,
  };
}

/** The document as served and as committed to docs/openapi.json. */
export const openApiText = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

import { z } from "zod";

/**
 * The object's fields, all optional and without their defaults. zod's `.partial()` keeps defaults, so an override
 * of one field would silently reset every other field to its default instead of leaving the manifest's value.
 */
export function overridable<T extends z.ZodRawShape>(schema: z.ZodObject<T>): z.ZodType<Partial<z.infer<z.ZodObject<T>>>> {
  const shape = Object.fromEntries(
    Object.entries(schema.shape).map(([key, field]) => [key, (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType)).optional()]),
  );
  return z.object(shape).strict() as unknown as z.ZodType<Partial<z.infer<z.ZodObject<T>>>>;
}

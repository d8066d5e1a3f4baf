/**
 * Bounded parallelism across nodes: at most `limit` at a time, results in the input's order,
 * the first failure (in input order) thrown once every started call has settled.
 * @module
 */

/** How many nodes a step reads from at once. */
export const NODE_PARALLELISM = 8;

/** Maps `items` through `fn`, at most `limit` calls at a time; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        errors.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return results;
}

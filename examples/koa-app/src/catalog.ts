/** The shop's products (a database table in a real app). */
export interface Product {
  sku: string;
  title: string;
  priceCents: number;
}

export interface Catalog {
  find(sku: string): Product | undefined;
  all(): readonly Product[];
}

// #region readme
// The app puts its catalog on Koa's context (app.context.catalog), the Koa way to share a handle; this
// declaration types it, so gatehouse.ts's `context: (koa) => ({ catalog: koa.catalog })` is a Catalog, not `any`.
declare module 'koa' {
  interface DefaultContext {
    catalog: Catalog;
  }
}
// #endregion readme

export function createCatalog(products: readonly Product[]): Catalog {
  const bySku = new Map(products.map((product) => [product.sku, product]));
  return { find: (sku) => bySku.get(sku), all: () => products };
}

export const demoProducts: readonly Product[] = [
  { sku: 'tea-green', title: 'Green tea, 100 g', priceCents: 650 },
  { sku: 'tea-black', title: 'Black tea, 100 g', priceCents: 590 },
  { sku: 'mug', title: 'Stoneware mug', priceCents: 1200 },
];

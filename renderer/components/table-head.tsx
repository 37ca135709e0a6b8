/** A table's header row: one `<th scope="col">` per column, in order. */
import type { ReactNode } from 'react';

export type Column = ReactNode | { label: ReactNode; className?: string };

function isLabelled(c: Column): c is { label: ReactNode; className?: string } {
  return typeof c === 'object' && c !== null && 'label' in c;
}

export function TableHead({ columns }: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) =>
          isLabelled(c) ? (
            <th key={i} scope="col" className={c.className}>
              {c.label}
            </th>
          ) : (
            <th key={i} scope="col">
              {c}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A table's header row; `false` leaves a column out (e.g. one only admins see). */
export function TableHead({ columns }: { columns: Array<string | false> }) {
  return (
    <thead>
      <tr>
        {columns.filter((c): c is string => c !== false).map((c) => (
          <th scope="col">{c}</th>
        ))}
      </tr>
    </thead>
  );
}

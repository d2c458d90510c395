select
    c.customer_id,
    c.country_code,
    count(o.order_id) as order_count,
    sum(o.gross_amount) as gross_amount
from {{ ref('stg_customers') }} as c
left join {{ ref('sales_orders') }} as o on o.customer_id = c.customer_id
group by c.customer_id, c.country_code

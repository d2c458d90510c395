select
    customer_id,
    full_name,
    lower(email) as email_address,
    case country when 'UK' then 'GB' when 'Deutschland' then 'DE' else country end
        as country_code
from {{ ref('raw_customers') }}

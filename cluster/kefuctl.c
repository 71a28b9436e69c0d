/* placeholder until implemented */
#include <stdio.h>
int main(void)
{
	return 1;
}
